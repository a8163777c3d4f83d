// The leader side of a replica: requests, the scheduler (and with it the KV block table and
// prefix cache), detokenizing and stop conditions. It holds no weights: each step it produces a
// step_plan for the workers and turns their step_result into request outputs.
//
//   schedule() -> step_plan --(workers: model_runner::execute)--> step_result -> update()
//
// At most one step is in flight: update() must follow each schedule() that returned a plan.
// abort() may come at any time; while a step is in flight it takes effect after update().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "engine/engine.hpp"
#include "engine/model/model_config.hpp"
#include "engine/prompt_builder.hpp"
#include "engine/request_state.hpp"
#include "engine/sched/scheduler.hpp"
#include "engine/step_plan.hpp"

namespace troupe {

struct engine_core_options {
  std::int32_t max_num_seqs = 64;
  std::int32_t max_num_batched_tokens = 2048;
  std::int32_t max_model_len = 0;  // 0 = what the model and the KV cache allow
  std::int32_t block_size = 16;
  std::int64_t num_kv_blocks = 0;  // what the workers allocated (model_runner::num_kv_blocks)
  bool enable_prefix_caching = true;
};

class engine_core {
 public:
  // Errors: limits <= 0, fewer than one block, a max_model_len beyond the model or the cache.
  static result<std::unique_ptr<engine_core>> create(const engine_core_options& options, const model_config& config,
                                                     std::shared_ptr<const prompt_builder> prompts);

  // As engine::add_request.
  result<request_id> add_request(generation_request request);
  // False when the id is unknown or already finished. Its output (finish_reason abort) comes with
  // the next take_outputs() after the abort took effect.
  bool abort(request_id id);

  // The next step's plan, or nullopt when nothing can run (then nothing is in flight).
  std::optional<step_plan> schedule();
  // Applies the workers' result of the plan in flight. Error (errc::invalid_argument; nothing
  // changes and the step stays in flight) when no step is in flight or the result does not match
  // the plan: another step id, or other requests than those that sample, in another order.
  status update(const step_result& result);
  bool step_in_flight() const { return in_flight_.has_value(); }

  // The outputs produced since the last call (tokens, finishes, aborts).
  std::vector<request_output> take_outputs();
  bool has_unfinished() const;

  const model_config& config() const { return config_; }
  const prompt_builder& prompts() const { return *prompts_; }
  std::int32_t max_model_len() const { return max_model_len_; }
  std::int64_t num_kv_blocks() const { return options_.num_kv_blocks; }
  engine_stats stats() const;

 private:
  // What the workers know of a request: whether it was sent, and how many of its blocks.
  struct worker_view {
    bool sent = false;
    bool needs_readmission = false;  // preempted: the workers dropped its block table
    std::size_t num_blocks_sent = 0;
  };
  struct tracked_request {
    request_state state;
    worker_view view;
  };
  struct in_flight_step {
    step_plan plan;
    scheduler_output decision;  // sequence pointers stay valid: aborts wait for update()
  };

  engine_core(engine_core_options options, model_config config, std::shared_ptr<const prompt_builder> prompts,
              std::int32_t max_model_len);
  void apply_aborts();
  void add_to_plan(const scheduled_sequence& s, tracked_request& r, step_plan& plan);
  void emit(request_state& state, sequence& seq, const sample_result& result);

  engine_core_options options_;
  model_config config_;
  std::shared_ptr<const prompt_builder> prompts_;
  std::int32_t max_model_len_;
  scheduler sched_;
  std::vector<token_id> eos_token_ids_;
  std::unordered_map<request_id, tracked_request> requests_;
  std::vector<request_id> pending_aborts_;
  std::vector<request_id> finished_since_last_plan_;
  std::optional<in_flight_step> in_flight_;
  std::vector<request_output> outputs_;
  std::uint64_t next_request_id_ = 1;
  std::uint64_t next_step_id_ = 1;
  std::mt19937_64 seed_source_{std::random_device{}()};
  engine_stats counters_;
};

}  // namespace troupe
