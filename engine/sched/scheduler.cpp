#include "engine/sched/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <tuple>
#include <utility>

namespace troupe {
namespace {

block_manager_options block_options(const scheduler_options& options) {
  return block_manager_options{.num_blocks = options.num_blocks,
                               .block_size = options.block_size,
                               .enable_prefix_caching = options.enable_prefix_caching};
}

}  // namespace

bool scheduler::queue_order::operator()(const sequence* a, const sequence* b) const {
  return std::tie(a->priority, a->arrival_order) < std::tie(b->priority, b->arrival_order);
}

status scheduler::validate(const scheduler_options& options) {
  if (options.max_num_seqs < 1) {
    return make_error(errc::invalid_argument,
                      "scheduler_options.max_num_seqs is {}; it must be at least 1",
                      options.max_num_seqs);
  }
  if (options.max_num_batched_tokens < 1) {
    return make_error(errc::invalid_argument,
                      "scheduler_options.max_num_batched_tokens is {}; it must be at least 1",
                      options.max_num_batched_tokens);
  }
  if (options.max_model_len < 1) {
    return make_error(errc::invalid_argument,
                      "scheduler_options.max_model_len is {}; it must be at least 1",
                      options.max_model_len);
  }
  return block_manager::validate(block_options(options));
}

scheduler::scheduler(const scheduler_options& options)
    : options_(options), blocks_(block_options(options)) {
  assert(validate(options));
}

status scheduler::add(std::unique_ptr<sequence> seq) {
  if (seq == nullptr)
    return make_error(errc::invalid_argument, "scheduler::add got a null sequence");
  const std::uint64_t id = seq->id.value;
  if (sequences_.contains(seq->id)) {
    return make_error(errc::invalid_argument, "request {} is already in the scheduler", id);
  }
  if (seq->num_prompt_tokens < 1 || seq->num_tokens() < seq->num_prompt_tokens) {
    return make_error(errc::invalid_argument,
                      "request {} has num_prompt_tokens {} and {} token ids", id,
                      seq->num_prompt_tokens, seq->num_tokens());
  }
  if (seq->num_computed_tokens != 0 || !seq->block_table.empty()) {
    return make_error(errc::invalid_argument,
                      "request {} arrives with {} computed tokens and {} blocks; both must be 0",
                      id, seq->num_computed_tokens, seq->block_table.size());
  }
  if (seq->num_tokens() > options_.max_model_len) {
    return make_error(errc::invalid_argument,
                      "request {} has {} tokens, more than max_model_len {}", id, seq->num_tokens(),
                      options_.max_model_len);
  }
  if (blocks_.num_blocks_for_tokens(seq->num_tokens()) > blocks_.num_blocks()) {
    return make_error(errc::invalid_argument, "request {} needs {} KV blocks; the cache has {}", id,
                      blocks_.num_blocks_for_tokens(seq->num_tokens()), blocks_.num_blocks());
  }
  // A sequence never grows past max_model_len or what the whole cache holds, so a lone running
  // sequence always fits and preemption cannot livelock.
  const std::int64_t num_cache_tokens = blocks_.num_blocks() * blocks_.block_size();
  seq->max_num_tokens = static_cast<std::int32_t>(
      std::min<std::int64_t>({seq->max_num_tokens, options_.max_model_len, num_cache_tokens}));
  if (is_complete(*seq)) {
    return make_error(errc::invalid_argument,
                      "request {} has {} tokens and may have at most {} (max_num_tokens, "
                      "max_model_len {}, KV cache of {} tokens): no room to generate a token",
                      id, seq->num_tokens(), seq->max_num_tokens, options_.max_model_len,
                      num_cache_tokens);
  }
  seq->arrival_order = next_arrival_order_++;
  seq->status = sequence_status::waiting;
  waiting_.insert(seq.get());
  sequences_.emplace(seq->id, std::move(seq));
  return ok();
}

bool scheduler::abort(request_id id) {
  return retire(id);
}

void scheduler::finish(request_id id) {
  retire(id);
}

bool scheduler::retire(request_id id) {
  auto it = sequences_.find(id);
  if (it == sequences_.end()) return false;
  sequence* seq = it->second.get();
  if (seq->status == sequence_status::waiting) {
    waiting_.erase(seq);
  } else {
    running_.erase(std::ranges::find(running_, seq));
  }
  blocks_.free(seq->block_table);
  seq->status = sequence_status::finished;
  // The latest output may still point at it: keep it alive until the next schedule().
  retired_.push_back(std::move(it->second));
  sequences_.erase(it);
  return true;
}

sequence* scheduler::find(request_id id) {
  auto it = sequences_.find(id);
  return it == sequences_.end() ? nullptr : it->second.get();
}

scheduler_output scheduler::schedule() {
  retired_.clear();  // the previous output is dead now
  scheduler_output out;
  std::int32_t token_budget = options_.max_num_batched_tokens;
  token_budget = schedule_running(out, token_budget);
  // After a preemption the pool is full: admitting new sequences would only preempt them again.
  if (out.preempted.empty()) schedule_waiting(out, token_budget);
  return out;
}

std::int32_t scheduler::schedule_running(scheduler_output& out, std::int32_t token_budget) {
  // running_ is in queue order, so the sequences behind index i are the ones preempt() may take:
  // none of them has been scheduled in this step yet.
  std::size_t i = 0;
  while (i < running_.size() && token_budget > 0) {
    sequence& seq = *running_[i];
    if (is_complete(seq)) {  // waits for finish(); never scheduled past its limit
      ++i;
      continue;
    }
    const std::int32_t num_new = std::min(seq.num_tokens() - seq.num_computed_tokens, token_budget);
    assert(num_new > 0);
    if (!allocate_or_preempt(i, num_new, out)) continue;  // seq left running_: i is the next one
    append_scheduled(seq, num_new, out);
    token_budget -= num_new;
    ++i;
  }
  return token_budget;
}

bool scheduler::allocate_or_preempt(std::size_t index, std::int32_t num_new_tokens,
                                    scheduler_output& out) {
  sequence& seq = *running_[index];
  while (!blocks_.allocate(seq.block_table, seq.num_computed_tokens + num_new_tokens)) {
    // Victim: the worst running sequence (highest priority value, then latest arrival) that can
    // still run; sequences that reached their limit only wait for finish().
    std::size_t victim = running_.size() - 1;
    while (victim > index && is_complete(*running_[victim])) --victim;
    preempt(victim, out);
    if (victim == index) return false;
  }
  return true;
}

std::int32_t scheduler::schedule_waiting(scheduler_output& out, std::int32_t token_budget) {
  // Admission never preempts: a waiting sequence of better priority than a running one waits for
  // blocks to free up instead (kept simple; vLLM's priority policy would preempt here).
  while (!waiting_.empty() && token_budget > 0 &&
         running_.size() < static_cast<std::size_t>(options_.max_num_seqs)) {
    sequence& seq = **waiting_.begin();
    // Match at most num_tokens - 1 tokens: at least one token is computed, so logits exist, and
    // the computed tokens never land in a shared (cached) block.
    auto lookup = std::span<const token_id>(seq.token_ids)
                      .first(static_cast<std::size_t>(seq.num_tokens() - 1));
    prefix_match match = blocks_.match_prefix(lookup);
    const auto num_cached = static_cast<std::int32_t>(match.num_cached_tokens);
    const std::int32_t num_new = std::min(seq.num_tokens() - num_cached, token_budget);
    // Strict order: when the head does not fit, nothing behind it overtakes it.
    if (!blocks_.allocate(seq.block_table, num_cached + num_new, match)) break;
    waiting_.erase(waiting_.begin());
    if (seq.num_preemptions == 0) seq.num_cached_prompt_tokens = num_cached;
    seq.num_computed_tokens = num_cached;
    seq.status = sequence_status::running;
    running_.insert(std::ranges::upper_bound(running_, &seq, queue_order{}), &seq);
    append_scheduled(seq, num_new, out);
    token_budget -= num_new;
  }
  return token_budget;
}

void scheduler::preempt(std::size_t running_index, scheduler_output& out) {
  sequence& victim = *running_[running_index];
  blocks_.free(victim.block_table);
  victim.num_computed_tokens = 0;
  victim.status = sequence_status::waiting;
  ++victim.num_preemptions;
  ++num_preemptions_;
  running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(running_index));
  // waiting_ is ordered by (priority, arrival), which puts the victim at the front of its priority
  // class: admission is in that order and preemption takes the latest arrival first, so what else
  // of its class is waiting arrived later.
  waiting_.insert(&victim);
  out.preempted.push_back(victim.id);
}

void scheduler::append_scheduled(sequence& seq, std::int32_t num_new_tokens,
                                 scheduler_output& out) {
  out.scheduled.push_back(scheduled_sequence{
      .seq = &seq,
      .num_new_tokens = num_new_tokens,
      .num_computed_tokens_before = seq.num_computed_tokens,
      .samples = seq.num_computed_tokens + num_new_tokens == seq.num_tokens(),
  });
  out.num_batched_tokens += num_new_tokens;
}

void scheduler::update(const scheduler_output& out, std::span<const token_id> sampled) {
  assert(sampled.size() == out.scheduled.size());
  for (std::size_t i = 0; i < out.scheduled.size(); ++i) {
    const scheduled_sequence& step = out.scheduled[i];
    sequence& seq = *step.seq;
    if (seq.status != sequence_status::running) continue;  // finished or aborted during the step
    assert(seq.num_computed_tokens == step.num_computed_tokens_before);
    seq.num_computed_tokens += step.num_new_tokens;
    blocks_.commit_full_blocks(seq.block_table, seq.token_ids, seq.num_computed_tokens);
    if (step.samples) seq.token_ids.push_back(sampled[i]);
  }
}

scheduler_stats scheduler::stats() const {
  block_manager_stats kv = blocks_.stats();
  return scheduler_stats{
      .num_waiting = waiting_.size(),
      .num_running = running_.size(),
      .kv_usage = kv.usage,
      .num_blocks = kv.num_blocks,
      .num_free_blocks = kv.num_free_blocks,
      .num_cached_blocks = kv.num_cached_blocks,
      .prefix_cache_queried_tokens = kv.prefix_cache_queried_tokens,
      .prefix_cache_hit_tokens = kv.prefix_cache_hit_tokens,
      .num_preemptions = num_preemptions_,
  };
}

}  // namespace troupe
