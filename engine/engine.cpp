#include "engine/engine.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <unordered_map>

#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/batch_builder.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/transformer.hpp"
#include "engine/prompt_builder.hpp"
#include "engine/request_state.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/sched/scheduler.hpp"

namespace troupe {

std::string_view finish_reason_name(finish_reason reason) {
  switch (reason) {
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
    case finish_reason::abort: return "abort";
  }
  return "?";
}

struct engine::impl {
  engine_options options;
  model_config config;
  std::int32_t max_model_len = 0;
  checkpoint ckpt;
  std::unique_ptr<backend> device;
  std::unique_ptr<transformer> model;
  kv_cache cache;
  std::unique_ptr<scheduler> sched;
  prompt_builder prompts;
  batch_builder batch;
  sampler sample;
  std::vector<token_id> eos_token_ids;
  std::unordered_map<request_id, request_state> requests;
  std::uint64_t next_request_id = 1;
  std::mt19937_64 seed_source{std::random_device{}()};
  std::vector<float> logits;
  std::vector<token_id> sampled;
  std::vector<sample_result> sample_results;
  std::vector<request_output> outputs;
  std::vector<request_output> pending_aborts;
  engine_stats counters;

  impl(engine_options o, model_config c, checkpoint k, prompt_builder p)
      : options(std::move(o)), config(std::move(c)), ckpt(std::move(k)), prompts(std::move(p)),
        batch(options.block_size) {}

  void update(const scheduler_output& plan);
  void emit(request_state& state, sequence& seq, const sample_result& result);
};

namespace {

status validate_options(const engine_options& o) {
  if (o.device != "cpu") {
    return make_error(errc::unsupported, "device '{}' is not available in this build (devices: cpu)", o.device);
  }
  if (o.max_num_seqs <= 0) return make_error(errc::invalid_argument, "max_num_seqs must be > 0, got {}", o.max_num_seqs);
  if (o.max_num_batched_tokens <= 0) {
    return make_error(errc::invalid_argument, "max_num_batched_tokens must be > 0, got {}", o.max_num_batched_tokens);
  }
  if (o.block_size <= 0 || o.block_size > 1024) {
    return make_error(errc::invalid_argument, "block_size must be in [1, 1024], got {}", o.block_size);
  }
  if (o.num_threads < 0) return make_error(errc::invalid_argument, "num_threads must be >= 0, got {}", o.num_threads);
  if (o.max_model_len < 0) return make_error(errc::invalid_argument, "max_model_len must be >= 0, got {}", o.max_model_len);
  if (o.kv_cache_bytes <= 0 && o.num_kv_blocks <= 0) {
    return make_error(errc::invalid_argument, "kv_cache_bytes must be > 0, got {}", o.kv_cache_bytes);
  }
  return ok();
}

// KV blocks from the options, and the longest sequence the model and the cache allow.
status size_kv_cache(engine::impl& e) {
  const kv_cache_shape one_block = e.model->kv_shape(1, e.options.block_size);
  const std::size_t bytes_per_block = one_block.block_bytes_per_layer() * static_cast<std::size_t>(one_block.num_layers);
  const std::int64_t num_blocks = e.options.num_kv_blocks > 0
                                      ? e.options.num_kv_blocks
                                      : e.options.kv_cache_bytes / static_cast<std::int64_t>(bytes_per_block);
  const std::int64_t capacity_tokens = num_blocks * e.options.block_size;
  if (num_blocks < 1) {
    return make_error(errc::invalid_argument, "kv_cache_bytes {} is less than one KV block ({} bytes)",
                      e.options.kv_cache_bytes, bytes_per_block);
  }
  const std::int64_t model_limit = e.config.max_position_embeddings;
  if (e.options.max_model_len > 0) {
    if (e.options.max_model_len > model_limit) {
      return make_error(errc::invalid_argument, "max_model_len {} exceeds the model's max_position_embeddings {}",
                        e.options.max_model_len, model_limit);
    }
    if (e.options.max_model_len > capacity_tokens) {
      return make_error(errc::invalid_argument,
                        "max_model_len {} does not fit the KV cache ({} blocks of {} tokens = {} tokens); "
                        "give the cache more memory or lower max_model_len",
                        e.options.max_model_len, num_blocks, e.options.block_size, capacity_tokens);
    }
    e.max_model_len = e.options.max_model_len;
  } else {
    e.max_model_len = static_cast<std::int32_t>(std::min(model_limit, capacity_tokens));
  }
  TROUPE_ASSIGN_OR_RETURN(e.cache, e.device->allocate_kv(e.model->kv_shape(num_blocks, e.options.block_size)));
  const scheduler_options sched_options{.max_num_seqs = e.options.max_num_seqs,
                                                          .max_num_batched_tokens = e.options.max_num_batched_tokens,
                                                          .max_model_len = e.max_model_len,
                                                          .block_size = e.options.block_size,
                                                          .num_blocks = num_blocks,
                                                          .enable_prefix_caching = e.options.enable_prefix_caching};
  TROUPE_RETURN_IF_ERROR(scheduler::validate(sched_options));
  e.sched = std::make_unique<scheduler>(sched_options);
  return ok();
}

}  // namespace

result<std::unique_ptr<engine>> engine::create(const engine_options& options) {
  TROUPE_RETURN_IF_ERROR(validate_options(options));
  TROUPE_ASSIGN_OR_RETURN(model_config config, load_model_config(options.model_dir));
  TROUPE_ASSIGN_OR_RETURN(checkpoint ckpt, checkpoint::open(options.model_dir));
  TROUPE_ASSIGN_OR_RETURN(prompt_builder prompts, prompt_builder::load(options.model_dir));
  auto e = std::make_unique<impl>(options, std::move(config), std::move(ckpt), std::move(prompts));
  TROUPE_ASSIGN_OR_RETURN(e->device, make_cpu_backend(cpu_backend_options{.num_threads = options.num_threads,
                                                                       .bf16_dot_products = options.cpu_bf16_dot_products}));
  const transformer_options model_options{.max_num_tokens = options.max_num_batched_tokens,
                                          .max_num_logits = options.max_num_seqs};
  TROUPE_ASSIGN_OR_RETURN(e->model, transformer::create(e->config, e->ckpt, *e->device, model_options));
  TROUPE_RETURN_IF_ERROR(size_kv_cache(*e));
  e->eos_token_ids = e->config.eos_token_ids;
  if (e->eos_token_ids.empty() && e->prompts.config().eos_token) {
    if (auto id = e->prompts.get_tokenizer().token_to_id(*e->prompts.config().eos_token)) e->eos_token_ids.push_back(*id);
  }
  e->logits.resize(static_cast<std::size_t>(options.max_num_seqs) * static_cast<std::size_t>(e->config.vocab_size));
  return std::unique_ptr<engine>(new engine(std::move(e)));
}

engine::engine(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
engine::~engine() = default;

result<request_id> engine::add_request(generation_request request) {
  impl& e = *impl_;
  const auto num_prompt = static_cast<std::int64_t>(request.prompt_token_ids.size());
  if (num_prompt == 0) return make_error(errc::invalid_argument, "the prompt is empty");
  if (num_prompt >= e.max_model_len) {
    return make_error(errc::invalid_argument,
                      "the prompt has {} tokens; max_model_len is {}, which leaves no room to generate",
                      num_prompt, e.max_model_len);
  }
  for (const token_id t : request.prompt_token_ids) {
    if (t < 0 || t >= e.config.vocab_size) {
      return make_error(errc::invalid_argument, "prompt token id {} is outside the vocabulary [0, {})", t,
                        e.config.vocab_size);
    }
  }
  TROUPE_RETURN_IF_ERROR(request.sampling.validate(e.config.vocab_size));

  const request_id id{e.next_request_id++};
  auto seq = std::make_unique<sequence>();
  seq->id = id;
  seq->priority = request.priority;
  seq->num_prompt_tokens = static_cast<std::int32_t>(num_prompt);
  const std::int64_t limit = std::min<std::int64_t>(num_prompt + request.sampling.max_tokens, e.max_model_len);
  seq->max_num_tokens = static_cast<std::int32_t>(limit);
  seq->token_ids = std::move(request.prompt_token_ids);
  const std::uint64_t seed = request.sampling.seed.value_or(e.seed_source());
  request_state state(id, std::move(request.sampling), seed, e.prompts.get_tokenizer());
  TROUPE_RETURN_IF_ERROR(e.sched->add(std::move(seq)));
  e.requests.emplace(id, std::move(state));
  return id;
}

bool engine::abort(request_id id) {
  impl& e = *impl_;
  if (!e.requests.contains(id)) return false;
  e.sched->abort(id);
  e.requests.erase(id);
  request_output out;
  out.id = id;
  out.finished = finish_reason::abort;
  e.pending_aborts.push_back(std::move(out));
  return true;
}

// schedule -> execute -> update.
const std::vector<request_output>& engine::step() {
  impl& e = *impl_;
  e.outputs.clear();
  std::move(e.pending_aborts.begin(), e.pending_aborts.end(), std::back_inserter(e.outputs));
  e.pending_aborts.clear();
  const auto t0 = std::chrono::steady_clock::now();
  const scheduler_output plan = e.sched->schedule();
  if (plan.scheduled.empty()) return e.outputs;
  const auto t1 = std::chrono::steady_clock::now();
  e.model->forward(e.batch.build(plan), e.cache, e.logits);
  const auto t2 = std::chrono::steady_clock::now();
  e.update(plan);
  const auto t3 = std::chrono::steady_clock::now();
  e.counters.num_steps += 1;
  e.counters.schedule_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  e.counters.execute_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t1).count();
  e.counters.update_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t3 - t2).count();
  return e.outputs;
}

// Samples the next token of every sequence that reached the end of its tokens, hands the tokens
// to the scheduler, then turns them into outputs and finishes the requests that are done.
void engine::impl::update(const scheduler_output& plan) {
  const auto vocab = static_cast<std::size_t>(config.vocab_size);
  sampled.assign(plan.scheduled.size(), -1);
  sample_results.clear();
  std::size_t row = 0;
  for (std::size_t i = 0; i < plan.scheduled.size(); ++i) {
    const scheduled_sequence& s = plan.scheduled[i];
    const sequence& seq = *s.seq;
    const std::int32_t prompt_end = std::min(s.num_computed_tokens_before + s.num_new_tokens, seq.num_prompt_tokens);
    counters.num_prompt_tokens_computed += std::max(0, prompt_end - s.num_computed_tokens_before);
    if (!s.samples) continue;
    const request_state& state = requests.at(seq.id);
    const std::span<float> row_logits(logits.data() + row * vocab, vocab);
    ++row;
    const std::span<const token_id> tokens(seq.token_ids);
    const sample_context context{.prompt_tokens = tokens.first(static_cast<std::size_t>(seq.num_prompt_tokens)),
                                 .output_tokens = tokens.subspan(static_cast<std::size_t>(seq.num_prompt_tokens)),
                                 .seed = state.seed()};
    sample_results.push_back(sample.sample(row_logits, state.sampling(), context));
    sampled[i] = sample_results.back().token;
  }
  sched->update(plan, sampled);
  std::size_t k = 0;
  for (const scheduled_sequence& s : plan.scheduled) {
    if (!s.samples) continue;
    sequence& seq = *s.seq;
    emit(requests.at(seq.id), seq, sample_results[k++]);
  }
}

void engine::impl::emit(request_state& state, sequence& seq, const sample_result& result) {
  request_output& out = outputs.emplace_back();
  out.id = seq.id;
  counters.num_generated_tokens += 1;
  const token_outcome outcome{.num_output_tokens = seq.num_tokens() - seq.num_prompt_tokens,
                              .num_tokens = seq.num_tokens(),
                              .max_num_tokens = seq.max_num_tokens};
  state.on_token(result, outcome, eos_token_ids, out);
  if (out.finished) {
    const request_id id = seq.id;
    sched->finish(id);  // `seq` is gone after this
    requests.erase(id);
  }
}

bool engine::has_unfinished() const { return impl_->sched->has_unfinished() || !impl_->pending_aborts.empty(); }
const model_config& engine::config() const { return impl_->config; }
const tokenizer& engine::get_tokenizer() const { return impl_->prompts.get_tokenizer(); }
const prompt_builder& engine::prompts() const { return impl_->prompts; }
std::int32_t engine::max_model_len() const { return impl_->max_model_len; }
std::size_t engine::weight_bytes() const { return impl_->model->weight_bytes(); }

engine_stats engine::stats() const {
  const impl& e = *impl_;
  engine_stats s = e.counters;
  const scheduler_stats sched = e.sched->stats();
  s.num_running = e.sched->num_running();
  s.num_waiting = e.sched->num_waiting();
  s.num_kv_blocks = e.cache.shape.num_blocks;
  s.num_free_kv_blocks = sched.num_free_blocks;
  s.prefix_cache_queried_tokens = sched.prefix_cache_queried_tokens;
  s.prefix_cache_hit_tokens = sched.prefix_cache_hit_tokens;
  s.num_preemptions = sched.num_preemptions;
  return s;
}

}  // namespace troupe
