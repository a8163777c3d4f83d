#include "api/response_json.hpp"

#include <cmath>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "engine/tokenizer/tokenizer.hpp"

namespace troupe::api {

namespace {

std::string random_hex(std::size_t num_chars) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (out.size() < num_chars) out += fmt::format("{:016x}", rng());
  out.resize(num_chars);
  return out;
}

std::string token_text(const tokenizer& tok, token_id id) { return tok.decode(std::span<const token_id>(&id, 1)); }

ordered_json bytes_json(const std::string& text) {
  ordered_json bytes = ordered_json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

// JSON has no NaN or infinity: a logprob of -inf (a token with probability 0) is sent as -9999.0,
// as OpenAI's API does.
double finite_logprob(float logprob) { return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0; }

ordered_json finish_json(const std::optional<finish_reason>& finished) {
  if (!finished) return nullptr;
  return std::string(finish_reason_name(*finished));
}

const char* object_name(endpoint_kind kind, bool chunk) {
  if (kind == endpoint_kind::completion) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

ordered_json envelope(const response_meta& meta, bool chunk) {
  return ordered_json{{"id", meta.id}, {"object", object_name(meta.kind, chunk)}, {"created", meta.created_unix_s},
                      {"model", meta.model}};
}

}  // namespace

response_meta new_response_meta(endpoint_kind kind, std::string model) {
  return response_meta{.kind = kind,
                       .id = (kind == endpoint_kind::chat ? "chatcmpl-" : "cmpl-") + random_hex(24),
                       .created_unix_s = static_cast<std::int64_t>(std::time(nullptr)),
                       .model = std::move(model)};
}

ordered_json usage_json(const usage_counts& usage) {
  return ordered_json{{"prompt_tokens", usage.prompt_tokens},
                      {"completion_tokens", usage.completion_tokens},
                      {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
                      {"prompt_tokens_details", {{"cached_tokens", usage.cached_prompt_tokens}}}};
}

ordered_json chat_logprobs_json(const tokenizer& tok, std::span<const sample_result> logprobs) {
  ordered_json content = ordered_json::array();
  for (const sample_result& r : logprobs) {
    ordered_json top = ordered_json::array();
    for (const token_logprob& t : r.top_logprobs) {
      const std::string text = token_text(tok, t.token);
      top.push_back({{"token", text}, {"logprob", finite_logprob(t.logprob)}, {"bytes", bytes_json(text)}});
    }
    const std::string text = token_text(tok, r.token);
    content.push_back({{"token", text},
                       {"logprob", finite_logprob(r.logprob)},
                       {"bytes", bytes_json(text)},
                       {"top_logprobs", std::move(top)}});
  }
  return ordered_json{{"content", std::move(content)}, {"refusal", nullptr}};
}

ordered_json completion_logprobs_json(const tokenizer& tok, std::span<const sample_result> logprobs,
                                      std::size_t text_offset) {
  ordered_json tokens = ordered_json::array();
  ordered_json token_logprobs = ordered_json::array();
  ordered_json top_logprobs = ordered_json::array();
  ordered_json offsets = ordered_json::array();
  for (const sample_result& r : logprobs) {
    const std::string text = token_text(tok, r.token);
    tokens.push_back(text);
    token_logprobs.push_back(finite_logprob(r.logprob));
    ordered_json top = ordered_json::object();
    for (const token_logprob& t : r.top_logprobs) top[token_text(tok, t.token)] = finite_logprob(t.logprob);
    top_logprobs.push_back(std::move(top));
    offsets.push_back(text_offset);
    text_offset += text.size();
  }
  return ordered_json{{"tokens", std::move(tokens)},
                      {"token_logprobs", std::move(token_logprobs)},
                      {"top_logprobs", std::move(top_logprobs)},
                      {"text_offset", std::move(offsets)}};
}

ordered_json full_response_json(const response_meta& meta, const tokenizer& tok, const std::vector<choice_output>& choices,
                                bool with_logprobs, const usage_counts& usage) {
  ordered_json out = envelope(meta, false);
  ordered_json list = ordered_json::array();
  for (const choice_output& c : choices) {
    ordered_json choice{{"index", c.index}};
    if (meta.kind == endpoint_kind::chat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
      choice["logprobs"] = with_logprobs ? chat_logprobs_json(tok, c.logprobs) : ordered_json(nullptr);
    } else {
      choice["text"] = c.text;
      choice["logprobs"] = with_logprobs ? completion_logprobs_json(tok, c.logprobs, 0) : ordered_json(nullptr);
    }
    choice["finish_reason"] = finish_json(c.finished);
    list.push_back(std::move(choice));
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

ordered_json chunk_json(const response_meta& meta, const tokenizer& tok, const choice_output& delta, bool first,
                        bool with_logprobs, std::size_t text_offset, bool with_null_usage) {
  ordered_json out = envelope(meta, true);
  ordered_json choice{{"index", delta.index}};
  if (meta.kind == endpoint_kind::chat) {
    ordered_json d = ordered_json::object();
    if (first) d["role"] = "assistant";
    if (first || !delta.text.empty()) d["content"] = delta.text;
    choice["delta"] = std::move(d);
    choice["logprobs"] =
        with_logprobs && !delta.logprobs.empty() ? chat_logprobs_json(tok, delta.logprobs) : ordered_json(nullptr);
  } else {
    choice["text"] = delta.text;
    choice["logprobs"] = with_logprobs && !delta.logprobs.empty()
                             ? completion_logprobs_json(tok, delta.logprobs, text_offset)
                             : ordered_json(nullptr);
  }
  choice["finish_reason"] = finish_json(delta.finished);
  out["choices"] = ordered_json::array({std::move(choice)});
  if (with_null_usage) out["usage"] = nullptr;
  return out;
}

ordered_json usage_chunk_json(const response_meta& meta, const usage_counts& usage) {
  ordered_json out = envelope(meta, true);
  out["choices"] = ordered_json::array();
  out["usage"] = usage_json(usage);
  return out;
}

ordered_json models_json(const std::vector<served_model>& models) {
  ordered_json data = ordered_json::array();
  for (const served_model& m : models) {
    data.push_back({{"id", m.name},
                    {"object", "model"},
                    {"created", m.created_unix_s},
                    {"owned_by", m.owned_by},
                    {"max_model_len", m.max_model_len}});
  }
  return ordered_json{{"object", "list"}, {"data", std::move(data)}};
}

std::string dump(const ordered_json& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace troupe::api
