// The step scheduler: decides which sequences compute how many tokens in the next step, within a
// token budget, a sequence limit and the KV blocks available. Pure logic: no tensors, no threads;
// one owner (the replica leader) calls it.
//
// One step, as the engine runs it:
//
//   scheduler_output out = sched.schedule();   // batch: (sequence, num_new_tokens, samples)
//   ... run the model on out.scheduled; sample one token per entry with `samples` ...
//   sched.update(out, sampled);                 // advance num_computed_tokens, append tokens
//   ... finish(id) the sequences that hit a stop token or max_num_tokens ...
//
// Every sequence has num_computed_tokens and num_tokens(); each step lets it catch up (vLLM v1).
// Prefill, chunked prefill, prefix-cache hits and decode are not separate modes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"
#include "engine/kv/block_manager.hpp"
#include "engine/sched/sequence.hpp"

namespace troupe {

struct scheduler_options {
  std::int32_t max_num_seqs = 256;             // running sequences at most
  std::int32_t max_num_batched_tokens = 2048;  // tokens computed per step at most
  std::int32_t max_model_len = 0;              // tokens per sequence at most (prompt + output)
  std::int32_t block_size = 16;                // tokens per KV block
  std::int64_t num_blocks = 0;                 // KV blocks in the pool
  bool enable_prefix_caching = true;
};

struct scheduled_sequence {
  sequence* seq;                // valid until the next schedule()
  std::int32_t num_new_tokens;  // computes tokens [before, before + num_new_tokens)
  std::int32_t num_computed_tokens_before;
  bool samples;  // this step reaches the end of the sequence's tokens, so the engine samples its
                 // next token
};

struct scheduler_output {
  std::vector<scheduled_sequence> scheduled;
  std::vector<request_id> preempted;    // lost their KV this step; they recompute when readmitted
  std::int32_t num_batched_tokens = 0;  // sum of num_new_tokens
};

struct scheduler_stats {
  std::size_t num_waiting = 0;
  std::size_t num_running = 0;
  double kv_usage = 0.0;  // fraction of blocks referenced by sequences, 0..1
  std::int64_t num_blocks = 0;
  std::int64_t num_free_blocks = 0;              // unreferenced (truly free + evictable cached)
  std::int64_t num_cached_blocks = 0;            // registered in the prefix cache
  std::int64_t prefix_cache_queried_tokens = 0;  // tokens looked up on admissions
  std::int64_t prefix_cache_hit_tokens = 0;      // of those, found in the prefix cache
  std::int64_t num_preemptions = 0;              // since construction
};

class scheduler {
 public:
  // Checks the limits are positive and the block pool is valid. Errors name the field and value.
  static status validate(const scheduler_options& options);

  // Precondition: validate(options) succeeds (asserted).
  explicit scheduler(const scheduler_options& options);

  // Queues a new sequence (status waiting, arrival_order set). It must hold its prompt (and may
  // hold earlier generated tokens) in token_ids, num_prompt_tokens >= 1, no computed tokens and no
  // blocks. Lowers max_num_tokens to max_model_len and to the tokens the whole cache holds.
  // Error (invalid_argument) if it can never run: its tokens exceed max_model_len or need more
  // blocks than the whole cache has, or max_num_tokens leaves no room to generate a token; also
  // for a null sequence or a request id already queued.
  status add(std::unique_ptr<sequence> seq);

  // Removes the sequence wherever it is and frees its blocks (full computed blocks stay in the
  // prefix cache). Returns false for an unknown id. Safe between schedule() and update(): the
  // object lives until the next schedule(), and update() skips it.
  bool abort(request_id id);

  // One step's batch. Running sequences first (decode, unfinished chunks), preempting by recompute
  // when blocks run out; then waiting ones in (priority, arrival) order while the token budget,
  // max_num_seqs and blocks allow. The output's pointers are valid until the next schedule().
  scheduler_output schedule();

  // After the step ran: for each scheduled sequence num_computed_tokens += num_new_tokens, newly
  // full blocks are committed to the prefix cache, and when `samples` the sampled token
  // (sampled[i] for scheduled[i]; sampled.size() == scheduled.size()) is appended to token_ids.
  void update(const scheduler_output& out, std::span<const token_id> sampled);

  // The caller is done with the sequence (stop token, max_num_tokens reached): frees its blocks
  // (full blocks stay in the prefix cache) and removes it, as abort(). Read its tokens first.
  // A sequence with num_tokens() >= max_num_tokens is never scheduled again and keeps its blocks
  // until finished.
  void finish(request_id id);

  sequence* find(request_id id);  // nullptr when unknown or finished
  bool has_unfinished() const { return !sequences_.empty(); }
  std::size_t num_waiting() const { return waiting_.size(); }
  std::size_t num_running() const { return running_.size(); }
  scheduler_stats stats() const;

 private:
  // Queue order: lower priority value first, then earlier arrival.
  struct queue_order {
    bool operator()(const sequence* a, const sequence* b) const;
  };

  static bool is_complete(const sequence& seq) { return seq.num_tokens() >= seq.max_num_tokens; }
  // Each returns the token budget left for the step.
  std::int32_t schedule_running(scheduler_output& out, std::int32_t token_budget);
  std::int32_t schedule_waiting(scheduler_output& out, std::int32_t token_budget);
  // Allocates blocks for seq (at running_[index]) to compute num_new_tokens more, preempting from
  // the back of running_ until it fits; false when seq had to preempt itself.
  bool allocate_or_preempt(std::size_t index, std::int32_t num_new_tokens, scheduler_output& out);
  void preempt(std::size_t running_index, scheduler_output& out);
  void append_scheduled(sequence& seq, std::int32_t num_new_tokens, scheduler_output& out);
  bool retire(request_id id);

  scheduler_options options_;
  block_manager blocks_;
  std::unordered_map<request_id, std::unique_ptr<sequence>> sequences_;  // waiting and running
  std::set<sequence*, queue_order> waiting_;
  std::vector<sequence*> running_;  // in queue_order: best first, the next victim last
  std::vector<std::unique_ptr<sequence>> retired_;  // finished since the last schedule()
  std::uint64_t next_arrival_order_ = 0;
  std::int64_t num_preemptions_ = 0;
};

}  // namespace troupe
