// The engine's public API: one model replica in one process. Requests in, tokens out, driven one
// step at a time by the caller (troupe run, and later the replica-leader actor).
//
//   auto eng = engine::create({.model_dir = "models/demo", .num_threads = 2});
//   auto id = (*eng)->add_request({.prompt_token_ids = ids, .sampling = {.temperature = 0}});
//   while ((*eng)->has_unfinished()) for (auto& out : (*eng)->step()) ...
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"
#include "engine/model/model_config.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/sampling/sampling_params.hpp"

namespace troupe {

class tokenizer;
class prompt_builder;

struct engine_options {
  std::filesystem::path model_dir;       // a Hugging Face checkpoint folder
  std::string device = "cpu";            // only "cpu" in this build
  std::int32_t num_threads = 0;          // CPU threads for the backend; 0 = all hardware threads
  std::int32_t max_num_seqs = 64;        // most sequences in one step
  std::int32_t max_num_batched_tokens = 2048;  // token budget of one step (chunked prefill above it)
  std::int32_t max_model_len = 0;        // prompt + output limit; 0 = what the model and KV allow
  std::int32_t block_size = 16;          // tokens per KV block
  std::int64_t kv_cache_bytes = 1LL << 30;  // memory for the KV cache
  std::int64_t num_kv_blocks = 0;        // > 0: exactly this many blocks (overrides kv_cache_bytes)
  bool enable_prefix_caching = true;
  // CPU only, off by default: prompt-sized matrix products with bf16 weights round activations
  // to bf16 and use AVX-512-BF16 dot products (about 2x prefill; no longer fp32 arithmetic).
  bool cpu_bf16_dot_products = false;
};

struct generation_request {
  std::vector<token_id> prompt_token_ids;
  sampling_params sampling;
  std::int32_t priority = 0;  // lower runs first
};

enum class finish_reason { stop, length, abort };
std::string_view finish_reason_name(finish_reason reason);  // "stop", "length", "abort"

// What one request produced in one step.
struct request_output {
  request_id id;
  std::vector<token_id> new_token_ids;
  std::string new_text;                     // text that became final (stop strings never emitted)
  std::vector<sample_result> new_logprobs;  // one per new token when sampling.logprobs >= 0
  std::optional<finish_reason> finished;
  std::string stop_reason;                  // the stop string or "token:<id>" that ended it
  std::int32_t num_prompt_tokens = 0;
  std::int32_t num_cached_prompt_tokens = 0;  // prompt tokens found in the prefix cache
};

struct engine_stats {
  std::size_t num_running = 0;
  std::size_t num_waiting = 0;
  std::int64_t num_kv_blocks = 0;
  std::int64_t num_free_kv_blocks = 0;
  std::int64_t prefix_cache_queried_tokens = 0;
  std::int64_t prefix_cache_hit_tokens = 0;
  std::int64_t num_preemptions = 0;
  std::int64_t num_prompt_tokens_computed = 0;
  std::int64_t num_generated_tokens = 0;
  std::int64_t num_steps = 0;
  // Wall time spent in each phase of step(), summed over all steps (nanoseconds): what the
  // engine adds around the model is schedule + update.
  std::int64_t schedule_ns = 0;
  std::int64_t execute_ns = 0;  // batch layout + forward pass (the model)
  std::int64_t update_ns = 0;   // sampling, detokenizing, stop checks, scheduler update
};

class engine {
 public:
  static result<std::unique_ptr<engine>> create(const engine_options& options);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Queues a request. Errors: empty prompt, a prompt that does not fit max_model_len or the KV
  // cache, invalid sampling parameters, token ids outside the vocabulary.
  result<request_id> add_request(generation_request request);
  // Stops a request wherever it is and frees its KV blocks; its final output (finish_reason
  // abort) comes from the next step(). False when the id is unknown or already finished.
  bool abort(request_id id);
  // One continuous-batching step: schedule -> execute -> update. Returns the outputs of every
  // request that produced tokens or finished; valid until the next call.
  const std::vector<request_output>& step();
  bool has_unfinished() const;

  const model_config& config() const;
  const tokenizer& get_tokenizer() const;
  const prompt_builder& prompts() const;
  std::int32_t max_model_len() const;
  std::size_t weight_bytes() const;
  engine_stats stats() const;

 struct impl;  // private state (engine.cpp)

 private:
  explicit engine(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe
