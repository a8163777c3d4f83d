// The worker side of a replica: the weights, the KV cache memory and the sampler of one device.
// Executes step plans (engine/step_plan.hpp) from a replica leader: applies the plan's deltas to
// its cache of per-request state, runs the forward pass and samples.
//
//   auto runner = model_runner::create({.model_dir = "models/demo", .num_threads = 2});
//   step_result r = (*runner)->execute(plan).value();
//
// Plans may come from another process: execute() checks every id, token range and block id
// against what it knows and returns an error (changing nothing) instead of trusting them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "engine/common/result.hpp"
#include "engine/model/model_config.hpp"
#include "engine/model/weights.hpp"
#include "engine/step_plan.hpp"

namespace troupe {

struct model_runner_options {
  std::filesystem::path model_dir;       // a Hugging Face checkpoint folder
  std::string device = "cpu";            // only "cpu" in this build
  std::int32_t num_threads = 0;          // CPU threads for the backend; 0 = all hardware threads
  std::int32_t max_num_seqs = 64;        // most sequences in one step (rows of logits)
  std::int32_t max_num_batched_tokens = 2048;  // most tokens in one step
  std::int32_t block_size = 16;          // tokens per KV block
  std::int64_t kv_cache_bytes = 1LL << 30;     // memory for the KV cache
  std::int64_t num_kv_blocks = 0;        // > 0: exactly this many blocks (overrides kv_cache_bytes)
  bool cpu_bf16_dot_products = false;    // see engine_options
  load_progress on_load_progress;        // optional: (layers loaded, layers, bytes) during create()
};

struct model_runner_stats {
  std::int64_t num_steps = 0;
  std::int64_t forward_ns = 0;  // batch layout + forward pass
  std::int64_t sample_ns = 0;
  std::size_t num_cached_requests = 0;
};

class model_runner {
 public:
  // Reads config.json and the safetensors, uploads the weights and allocates the KV cache.
  // Errors: the model's (see load_model_config, checkpoint::open, transformer::create), a device
  // other than cpu, limits <= 0, a KV budget below one block.
  static result<std::unique_ptr<model_runner>> create(const model_runner_options& options);
  ~model_runner();
  model_runner(const model_runner&) = delete;
  model_runner& operator=(const model_runner&) = delete;

  // Applies the plan (finished, preempted, new requests, then scheduled; see step_plan.hpp),
  // computes the scheduled tokens and samples one token for every scheduled request that samples
  // (appending it to the request's tokens here). Errors (errc::invalid_argument, nothing applied):
  // unknown or duplicate request ids, token ranges beyond a request's tokens, block ids outside the
  // cache, a block table too short for its tokens, more tokens or sequences than the limits.
  result<step_result> execute(const step_plan& plan);

  const model_config& config() const;
  std::int64_t num_kv_blocks() const;
  std::int32_t block_size() const;
  std::size_t weight_bytes() const;
  model_runner_stats stats() const;

  struct impl;  // private state (model_runner.cpp)

 private:
  explicit model_runner(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe
