#include "engine/engine_core.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>

namespace troupe {

namespace {

status validate_options(const engine_core_options& o) {
  if (o.max_num_seqs <= 0) return make_error(errc::invalid_argument, "max_num_seqs must be > 0, got {}", o.max_num_seqs);
  if (o.max_num_batched_tokens <= 0) {
    return make_error(errc::invalid_argument, "max_num_batched_tokens must be > 0, got {}", o.max_num_batched_tokens);
  }
  if (o.block_size <= 0 || o.block_size > 1024) {
    return make_error(errc::invalid_argument, "block_size must be in [1, 1024], got {}", o.block_size);
  }
  if (o.max_model_len < 0) return make_error(errc::invalid_argument, "max_model_len must be >= 0, got {}", o.max_model_len);
  if (o.num_kv_blocks < 1) return make_error(errc::invalid_argument, "the KV cache has {} blocks; at least 1 is needed", o.num_kv_blocks);
  return ok();
}

// The longest sequence the model and the cache allow, or the requested one if it fits.
result<std::int32_t> resolve_max_model_len(const engine_core_options& o, const model_config& config) {
  const std::int64_t capacity_tokens = o.num_kv_blocks * o.block_size;
  const std::int64_t model_limit = config.max_position_embeddings;
  if (o.max_model_len == 0) return static_cast<std::int32_t>(std::min(model_limit, capacity_tokens));
  if (o.max_model_len > model_limit) {
    return make_error(errc::invalid_argument, "max_model_len {} exceeds the model's max_position_embeddings {}",
                      o.max_model_len, model_limit);
  }
  if (o.max_model_len > capacity_tokens) {
    return make_error(errc::invalid_argument,
                      "max_model_len {} does not fit the KV cache ({} blocks of {} tokens = {} tokens); "
                      "give the cache more memory or lower max_model_len",
                      o.max_model_len, o.num_kv_blocks, o.block_size, capacity_tokens);
  }
  return o.max_model_len;
}

scheduler_options scheduler_options_for(const engine_core_options& o, std::int32_t max_model_len) {
  return scheduler_options{.max_num_seqs = o.max_num_seqs,
                           .max_num_batched_tokens = o.max_num_batched_tokens,
                           .max_model_len = max_model_len,
                           .block_size = o.block_size,
                           .num_blocks = o.num_kv_blocks,
                           .enable_prefix_caching = o.enable_prefix_caching};
}

}  // namespace

result<std::unique_ptr<engine_core>> engine_core::create(const engine_core_options& options, const model_config& config,
                                                         std::shared_ptr<const prompt_builder> prompts) {
  TROUPE_RETURN_IF_ERROR(validate_options(options));
  if (!prompts) return make_error(errc::invalid_argument, "engine_core needs the model's tokenizer");
  TROUPE_ASSIGN_OR_RETURN(const std::int32_t max_model_len, resolve_max_model_len(options, config));
  TROUPE_RETURN_IF_ERROR(scheduler::validate(scheduler_options_for(options, max_model_len)));
  return std::unique_ptr<engine_core>(new engine_core(options, config, std::move(prompts), max_model_len));
}

engine_core::engine_core(engine_core_options options, model_config config, std::shared_ptr<const prompt_builder> prompts,
                         std::int32_t max_model_len)
    : options_(options), config_(std::move(config)), prompts_(std::move(prompts)), max_model_len_(max_model_len),
      sched_(scheduler_options_for(options, max_model_len)), eos_token_ids_(config_.eos_token_ids) {
  if (eos_token_ids_.empty() && prompts_->config().eos_token) {
    if (auto id = prompts_->get_tokenizer().token_to_id(*prompts_->config().eos_token)) eos_token_ids_.push_back(*id);
  }
}

result<request_id> engine_core::add_request(generation_request request) {
  const auto num_prompt = static_cast<std::int64_t>(request.prompt_token_ids.size());
  if (num_prompt == 0) return make_error(errc::invalid_argument, "the prompt is empty");
  if (num_prompt >= max_model_len_) {
    return make_error(errc::invalid_argument,
                      "the prompt has {} tokens; max_model_len is {}, which leaves no room to generate", num_prompt,
                      max_model_len_);
  }
  for (const token_id t : request.prompt_token_ids) {
    if (t < 0 || t >= config_.vocab_size) {
      return make_error(errc::invalid_argument, "prompt token id {} is outside the vocabulary [0, {})", t,
                        config_.vocab_size);
    }
  }
  TROUPE_RETURN_IF_ERROR(request.sampling.validate(config_.vocab_size));

  const request_id id{next_request_id_++};
  auto seq = std::make_unique<sequence>();
  seq->id = id;
  seq->priority = request.priority;
  seq->num_prompt_tokens = static_cast<std::int32_t>(num_prompt);
  seq->max_num_tokens = static_cast<std::int32_t>(std::min<std::int64_t>(num_prompt + request.sampling.max_tokens, max_model_len_));
  seq->token_ids = std::move(request.prompt_token_ids);
  const std::uint64_t seed = request.sampling.seed.value_or(seed_source_());
  request_state state(id, std::move(request.sampling), seed, prompts_->get_tokenizer());
  TROUPE_RETURN_IF_ERROR(sched_.add(std::move(seq)));
  requests_.emplace(id, tracked_request{.state = std::move(state), .view = {}});
  return id;
}

bool engine_core::abort(request_id id) {
  if (!requests_.contains(id) || std::ranges::find(pending_aborts_, id) != pending_aborts_.end()) return false;
  pending_aborts_.push_back(id);
  if (!in_flight_) apply_aborts();
  return true;
}

void engine_core::apply_aborts() {
  for (const request_id id : pending_aborts_) {
    auto it = requests_.find(id);
    if (it == requests_.end()) continue;  // finished in the step that was in flight
    sched_.abort(id);
    if (it->second.view.sent) finished_since_last_plan_.push_back(id);
    requests_.erase(it);
    request_output& out = outputs_.emplace_back();
    out.id = id;
    out.finished = finish_reason::abort;
  }
  pending_aborts_.clear();
}

std::optional<step_plan> engine_core::schedule() {
  assert(!in_flight_);
  const auto t0 = std::chrono::steady_clock::now();
  scheduler_output decision = sched_.schedule();
  if (decision.scheduled.empty()) return std::nullopt;
  step_plan plan;
  plan.step_id = next_step_id_++;
  plan.finished = std::exchange(finished_since_last_plan_, {});
  for (const request_id id : decision.preempted) {
    worker_view& view = requests_.at(id).view;
    if (!view.sent) continue;
    plan.preempted.push_back(id);
    view.needs_readmission = true;
    view.num_blocks_sent = 0;
  }
  for (const scheduled_sequence& s : decision.scheduled) add_to_plan(s, requests_.at(s.seq->id), plan);
  in_flight_ = in_flight_step{.plan = plan, .decision = std::move(decision)};
  counters_.schedule_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  return plan;
}

// A scheduled request's entry: sent whole the first time (and after preemption), then only the
// blocks the workers do not have yet.
void engine_core::add_to_plan(const scheduled_sequence& s, tracked_request& r, step_plan& plan) {
  const sequence& seq = *s.seq;
  worker_view& view = r.view;
  if (!view.sent) {
    plan.new_requests.push_back(new_request_plan{.id = seq.id,
                                                 .prompt_token_ids = seq.token_ids,
                                                 .sampling = r.state.sampling(),
                                                 .seed = r.state.seed(),
                                                 .readmitted = false});
    view.sent = true;
  } else if (view.needs_readmission) {
    plan.new_requests.push_back(new_request_plan{.id = seq.id, .prompt_token_ids = {}, .sampling = {}, .seed = 0, .readmitted = true});
    view.needs_readmission = false;
  }
  scheduled_request_plan& entry = plan.scheduled.emplace_back();
  entry.id = seq.id;
  entry.num_computed_tokens = s.num_computed_tokens_before;
  entry.num_new_tokens = s.num_new_tokens;
  entry.samples = s.samples;
  for (std::size_t b = view.num_blocks_sent; b < seq.block_table.size(); ++b) entry.new_block_ids.push_back(seq.block_table[b].value);
  view.num_blocks_sent = seq.block_table.size();
}

status engine_core::update(const step_result& result) {
  if (!in_flight_) return make_error(errc::invalid_argument, "step result {} arrived with no step in flight", result.step_id);
  const step_plan& plan = in_flight_->plan;
  if (result.step_id != plan.step_id) {
    return make_error(errc::invalid_argument, "step result {} does not match the step in flight ({})", result.step_id,
                      plan.step_id);
  }
  std::size_t k = 0;
  for (const scheduled_request_plan& s : plan.scheduled) {
    if (!s.samples) continue;
    if (k >= result.sampled.size() || result.sampled[k].id != s.id) {
      return make_error(errc::invalid_argument, "step result {} lacks the token of request {}", result.step_id, s.id.value);
    }
    if (const token_id t = result.sampled[k].result.token; t < 0 || t >= config_.vocab_size) {
      return make_error(errc::invalid_argument, "step result {}: token {} of request {} is outside the vocabulary",
                        result.step_id, t, s.id.value);
    }
    ++k;
  }
  if (k != result.sampled.size()) {
    return make_error(errc::invalid_argument, "step result {} has {} tokens, the plan samples {}", result.step_id,
                      result.sampled.size(), k);
  }

  const auto t0 = std::chrono::steady_clock::now();
  const scheduler_output decision = std::move(in_flight_->decision);
  in_flight_.reset();
  std::vector<token_id> sampled(decision.scheduled.size(), -1);
  k = 0;
  for (std::size_t i = 0; i < decision.scheduled.size(); ++i) {
    const scheduled_sequence& s = decision.scheduled[i];
    const std::int32_t prompt_end = std::min(s.num_computed_tokens_before + s.num_new_tokens, s.seq->num_prompt_tokens);
    counters_.num_prompt_tokens_computed += std::max(0, prompt_end - s.num_computed_tokens_before);
    if (s.samples) sampled[i] = result.sampled[k++].result.token;
  }
  sched_.update(decision, sampled);
  k = 0;
  for (const scheduled_sequence& s : decision.scheduled) {
    if (!s.samples) continue;
    sequence& seq = *s.seq;
    emit(requests_.at(seq.id).state, seq, result.sampled[k++].result);
  }
  apply_aborts();
  counters_.num_steps += 1;
  counters_.update_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  return ok();
}

void engine_core::emit(request_state& state, sequence& seq, const sample_result& result) {
  request_output& out = outputs_.emplace_back();
  out.id = seq.id;
  out.num_prompt_tokens = seq.num_prompt_tokens;
  out.num_cached_prompt_tokens = seq.num_cached_prompt_tokens;
  counters_.num_generated_tokens += 1;
  const token_outcome outcome{.num_output_tokens = seq.num_tokens() - seq.num_prompt_tokens,
                              .num_tokens = seq.num_tokens(),
                              .max_num_tokens = seq.max_num_tokens};
  state.on_token(result, outcome, eos_token_ids_, out);
  if (out.finished) {
    const request_id id = seq.id;
    sched_.finish(id);  // `seq` is gone after this
    if (requests_.at(id).view.sent) finished_since_last_plan_.push_back(id);
    requests_.erase(id);
  }
}

std::vector<request_output> engine_core::take_outputs() { return std::exchange(outputs_, {}); }

bool engine_core::has_unfinished() const { return sched_.has_unfinished() || !pending_aborts_.empty() || in_flight_.has_value() || !outputs_.empty(); }

engine_stats engine_core::stats() const {
  engine_stats s = counters_;
  const scheduler_stats sched = sched_.stats();
  s.num_running = sched_.num_running();
  s.num_waiting = sched_.num_waiting();
  s.num_kv_blocks = options_.num_kv_blocks;
  s.num_free_kv_blocks = sched.num_free_blocks;
  s.prefix_cache_queried_tokens = sched.prefix_cache_queried_tokens;
  s.prefix_cache_hit_tokens = sched.prefix_cache_hit_tokens;
  s.num_preemptions = sched.num_preemptions;
  return s;
}

}  // namespace troupe
