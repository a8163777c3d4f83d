// What the HTTP layer needs from whoever generates tokens: the served models (with their
// tokenizer and chat template, used on the head to turn requests into token ids) and a
// queue-shaped submit/next/cancel interface (TensorRT-LLM executor style).
//
// Implementations: the cluster's router (actors/, through the router actor) and, for tests and
// single-process serving, a local engine (api/local_engine_service.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"
#include "engine/engine.hpp"
#include "engine/prompt_builder.hpp"
#include "engine/sampling/sampler.hpp"

namespace troupe::api {

struct served_model {
  std::string name;                     // the `model` field of requests
  std::shared_ptr<const prompt_builder> prompts;  // tokenizer + chat template
  std::int32_t max_model_len = 0;
  std::int32_t vocab_size = 0;
  std::int64_t created_unix_s = 0;      // `created` in /v1/models
  std::string owned_by = "troupe";
};

// Progress of one submitted request. A stream ends with exactly one delta whose `finished` or
// `failed` is set.
struct completion_delta {
  std::vector<token_id> token_ids;
  std::string text;                      // text that became final (never half a UTF-8 character)
  std::vector<sample_result> logprobs;   // one per token when logprobs were asked for
  std::optional<finish_reason> finished;
  std::string stop_reason;               // stop string or "token:<id>" that ended it
  std::optional<error> failed;           // the request could not complete (e.g. its replica died)
  std::int32_t num_prompt_tokens = 0;
  std::int32_t num_cached_prompt_tokens = 0;
};

class completion_stream {
 public:
  virtual ~completion_stream() = default;
  // Waits up to `timeout` for the next delta; nullopt on timeout (the caller may ping its client
  // and wait again). After the final delta, returns nullopt at once.
  virtual std::optional<completion_delta> next(std::chrono::milliseconds timeout) = 0;
  // Stops the request and frees its KV blocks (client went away). Idempotent; also done by the
  // destructor when the stream has not finished.
  virtual void cancel() = 0;
};

class completion_service {
 public:
  virtual ~completion_service() = default;
  virtual std::vector<served_model> models() const = 0;
  // Queues a request for `model`. Errors: errc::not_found (unknown model), errc::invalid_argument
  // (prompt too long, bad sampling values), errc::resource_exhausted (admission queue full: 429),
  // errc::unavailable (no ready replica: 503).
  virtual result<std::unique_ptr<completion_stream>> submit(const std::string& model, generation_request request) = 0;
};

}  // namespace troupe::api
