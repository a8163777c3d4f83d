// Response bodies in OpenAI's shapes: chat.completion, text_completion, their streaming chunks,
// logprobs, usage and /v1/models. Pure functions of what the completion streams produced.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/completion_service.hpp"
#include "api/request_parser.hpp"

namespace troupe::api {

using ordered_json = nlohmann::ordered_json;

// What every object of one response shares.
struct response_meta {
  endpoint_kind kind = endpoint_kind::chat;
  std::string id;          // "chatcmpl-..." or "cmpl-..."
  std::int64_t created_unix_s = 0;
  std::string model;
};

// A fresh response_meta with a random id and the current time.
response_meta new_response_meta(endpoint_kind kind, std::string model);

// One choice as it stands (all of it for a full response, or the part of one delta).
struct choice_output {
  std::int32_t index = 0;
  std::string text;
  std::vector<sample_result> logprobs;  // one per token when logprobs were asked for
  std::optional<finish_reason> finished;
  std::int32_t num_tokens = 0;
};

struct usage_counts {
  std::int32_t prompt_tokens = 0;
  std::int32_t completion_tokens = 0;  // summed over the choices
  std::int32_t cached_prompt_tokens = 0;
};

ordered_json usage_json(const usage_counts& usage);

// Chat: {content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}.
ordered_json chat_logprobs_json(const tokenizer& tok, std::span<const sample_result> logprobs);
// Completions: {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}; the
// offsets start at `text_offset` (bytes of the choice's text before these tokens).
ordered_json completion_logprobs_json(const tokenizer& tok, std::span<const sample_result> logprobs,
                                      std::size_t text_offset);

// The whole non-streaming response (chat.completion or text_completion).
ordered_json full_response_json(const response_meta& meta, const tokenizer& tok, const std::vector<choice_output>& choices,
                                bool with_logprobs, const usage_counts& usage);

// One streaming chunk for one choice. Chat: delta {role: "assistant", content: ""} when `first`,
// else {content} (or {} when text is empty and the choice finished). `text_offset` as above.
ordered_json chunk_json(const response_meta& meta, const tokenizer& tok, const choice_output& delta, bool first,
                        bool with_logprobs, std::size_t text_offset, bool with_null_usage);
// The last chunk when stream_options.include_usage: empty choices and the usage.
ordered_json usage_chunk_json(const response_meta& meta, const usage_counts& usage);

// GET /v1/models.
ordered_json models_json(const std::vector<served_model>& models);

// Serialised compactly; invalid UTF-8 (never expected) is replaced rather than thrown.
std::string dump(const ordered_json& value);
std::string dump(const nlohmann::json& value);

}  // namespace troupe::api
