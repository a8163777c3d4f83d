#include "engine/model_runner.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/batch_builder.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/transformer.hpp"
#include "engine/sampling/sampler.hpp"

namespace troupe {

namespace {

// What the worker remembers of a request between steps.
struct cached_request {
  std::vector<token_id> token_ids;  // prompt followed by the tokens sampled here
  std::int32_t num_prompt_tokens = 0;
  std::vector<std::int32_t> block_table;
  sampling_params sampling;
  std::uint64_t seed = 0;
};

std::int64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

struct model_runner::impl {
  model_runner_options options;
  model_config config;
  checkpoint ckpt;
  std::unique_ptr<backend> device;
  std::unique_ptr<transformer> model;
  kv_cache cache;
  batch_builder batch;
  sampler sample;
  std::unordered_map<request_id, cached_request> requests;
  std::vector<batch_entry> entries;
  std::vector<float> logits;
  model_runner_stats counters;

  impl(model_runner_options o, model_config c, checkpoint k)
      : options(std::move(o)), config(std::move(c)), ckpt(std::move(k)), batch(options.block_size) {}

  status validate(const step_plan& plan) const;
  void apply(const step_plan& plan);
};

namespace {

status validate_options(const model_runner_options& o) {
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
  if (o.kv_cache_bytes <= 0 && o.num_kv_blocks <= 0) {
    return make_error(errc::invalid_argument, "kv_cache_bytes must be > 0, got {}", o.kv_cache_bytes);
  }
  return ok();
}

}  // namespace

result<std::unique_ptr<model_runner>> model_runner::create(const model_runner_options& options) {
  TROUPE_RETURN_IF_ERROR(validate_options(options));
  TROUPE_ASSIGN_OR_RETURN(model_config config, load_model_config(options.model_dir));
  TROUPE_ASSIGN_OR_RETURN(checkpoint ckpt, checkpoint::open(options.model_dir));
  auto r = std::make_unique<impl>(options, std::move(config), std::move(ckpt));
  TROUPE_ASSIGN_OR_RETURN(r->device, make_cpu_backend(cpu_backend_options{.num_threads = options.num_threads,
                                                                       .bf16_dot_products = options.cpu_bf16_dot_products}));
  const transformer_options model_options{.max_num_tokens = options.max_num_batched_tokens,
                                          .max_num_logits = options.max_num_seqs,
                                          .on_load_progress = options.on_load_progress};
  TROUPE_ASSIGN_OR_RETURN(r->model, transformer::create(r->config, r->ckpt, *r->device, model_options));

  const kv_cache_shape one_block = r->model->kv_shape(1, options.block_size);
  const std::size_t bytes_per_block = one_block.block_bytes_per_layer() * static_cast<std::size_t>(one_block.num_layers);
  const std::int64_t num_blocks = options.num_kv_blocks > 0
                                      ? options.num_kv_blocks
                                      : options.kv_cache_bytes / static_cast<std::int64_t>(bytes_per_block);
  if (num_blocks < 1) {
    return make_error(errc::invalid_argument, "kv_cache_bytes {} is less than one KV block ({} bytes)",
                      options.kv_cache_bytes, bytes_per_block);
  }
  TROUPE_ASSIGN_OR_RETURN(r->cache, r->device->allocate_kv(r->model->kv_shape(num_blocks, options.block_size)));
  r->logits.resize(static_cast<std::size_t>(options.max_num_seqs) * static_cast<std::size_t>(r->config.vocab_size));
  return std::unique_ptr<model_runner>(new model_runner(std::move(r)));
}

model_runner::model_runner(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
model_runner::~model_runner() = default;

// Checks the whole plan against the cached requests before anything changes.
status model_runner::impl::validate(const step_plan& plan) const {
  const std::unordered_set<request_id> finished(plan.finished.begin(), plan.finished.end());
  auto known = [&](request_id id) { return requests.contains(id) && !finished.contains(id); };
  std::unordered_map<request_id, std::size_t> num_tokens;  // after this plan's new requests
  std::unordered_set<request_id> reset_tables;             // preempted or readmitted: table starts empty
  for (const request_id id : plan.preempted) {
    if (!known(id)) return make_error(errc::invalid_argument, "step {}: preempted request {} is unknown", plan.step_id, id.value);
    reset_tables.insert(id);
  }
  for (const new_request_plan& r : plan.new_requests) {
    if (num_tokens.contains(r.id)) return make_error(errc::invalid_argument, "step {}: request {} is new twice", plan.step_id, r.id.value);
    if (r.readmitted) {
      if (!known(r.id)) return make_error(errc::invalid_argument, "step {}: readmitted request {} is unknown", plan.step_id, r.id.value);
      num_tokens[r.id] = requests.at(r.id).token_ids.size();
      reset_tables.insert(r.id);
      continue;
    }
    if (known(r.id)) return make_error(errc::invalid_argument, "step {}: new request {} already exists", plan.step_id, r.id.value);
    if (r.prompt_token_ids.empty()) return make_error(errc::invalid_argument, "step {}: request {} has an empty prompt", plan.step_id, r.id.value);
    for (const token_id t : r.prompt_token_ids) {
      if (t < 0 || t >= config.vocab_size) {
        return make_error(errc::invalid_argument, "step {}: request {}: token id {} is outside the vocabulary [0, {})",
                          plan.step_id, r.id.value, t, config.vocab_size);
      }
    }
    TROUPE_RETURN_IF_ERROR(r.sampling.validate(config.vocab_size));
    num_tokens[r.id] = r.prompt_token_ids.size();
  }
  if (plan.scheduled.size() > static_cast<std::size_t>(options.max_num_seqs)) {
    return make_error(errc::invalid_argument, "step {}: {} sequences exceed max_num_seqs {}", plan.step_id,
                      plan.scheduled.size(), options.max_num_seqs);
  }
  std::int64_t total_tokens = 0;
  std::unordered_set<request_id> seen;
  for (const scheduled_request_plan& s : plan.scheduled) {
    if (!seen.insert(s.id).second) return make_error(errc::invalid_argument, "step {}: request {} is scheduled twice", plan.step_id, s.id.value);
    std::size_t tokens = 0;
    std::size_t table = 0;
    if (auto it = num_tokens.find(s.id); it != num_tokens.end()) {
      tokens = it->second;
    } else if (known(s.id)) {
      tokens = requests.at(s.id).token_ids.size();
    } else {
      return make_error(errc::invalid_argument, "step {}: scheduled request {} is unknown", plan.step_id, s.id.value);
    }
    if (known(s.id) && !reset_tables.contains(s.id)) table = requests.at(s.id).block_table.size();
    table += s.new_block_ids.size();
    const std::int64_t end = std::int64_t{s.num_computed_tokens} + s.num_new_tokens;
    if (s.num_computed_tokens < 0 || s.num_new_tokens < 1 || end > static_cast<std::int64_t>(tokens)) {
      return make_error(errc::invalid_argument, "step {}: request {} computes tokens [{}, {}) but has {} tokens",
                        plan.step_id, s.id.value, s.num_computed_tokens, end, tokens);
    }
    if (s.samples && end != static_cast<std::int64_t>(tokens)) {
      return make_error(errc::invalid_argument, "step {}: request {} samples before its last token ({} of {})",
                        plan.step_id, s.id.value, end, tokens);
    }
    if (static_cast<std::int64_t>(table) * options.block_size < end) {
      return make_error(errc::invalid_argument, "step {}: request {} has {} KV blocks for {} tokens", plan.step_id,
                        s.id.value, table, end);
    }
    for (const std::int32_t b : s.new_block_ids) {
      if (b < 0 || b >= cache.shape.num_blocks) {
        return make_error(errc::invalid_argument, "step {}: request {}: KV block {} is outside [0, {})", plan.step_id,
                          s.id.value, b, cache.shape.num_blocks);
      }
    }
    total_tokens += s.num_new_tokens;
  }
  if (total_tokens > options.max_num_batched_tokens) {
    return make_error(errc::invalid_argument, "step {}: {} tokens exceed max_num_batched_tokens {}", plan.step_id,
                      total_tokens, options.max_num_batched_tokens);
  }
  return ok();
}

void model_runner::impl::apply(const step_plan& plan) {
  for (const request_id id : plan.finished) requests.erase(id);
  for (const request_id id : plan.preempted) requests.at(id).block_table.clear();
  for (const new_request_plan& r : plan.new_requests) {
    if (r.readmitted) {
      requests.at(r.id).block_table.clear();
      continue;
    }
    cached_request& c = requests[r.id];
    c.token_ids = r.prompt_token_ids;
    c.num_prompt_tokens = static_cast<std::int32_t>(r.prompt_token_ids.size());
    c.sampling = r.sampling;
    c.seed = r.seed;
  }
  for (const scheduled_request_plan& s : plan.scheduled) {
    std::vector<std::int32_t>& table = requests.at(s.id).block_table;
    table.insert(table.end(), s.new_block_ids.begin(), s.new_block_ids.end());
  }
}

result<step_result> model_runner::execute(const step_plan& plan) {
  impl& r = *impl_;
  TROUPE_RETURN_IF_ERROR(r.validate(plan));
  r.apply(plan);
  step_result out{.step_id = plan.step_id, .sampled = {}};
  if (plan.scheduled.empty()) return out;

  const auto t0 = std::chrono::steady_clock::now();
  r.entries.clear();
  for (const scheduled_request_plan& s : plan.scheduled) {
    const cached_request& c = r.requests.at(s.id);
    r.entries.push_back(batch_entry{.token_ids = c.token_ids,
                                    .block_table = c.block_table,
                                    .num_computed_tokens = s.num_computed_tokens,
                                    .num_new_tokens = s.num_new_tokens,
                                    .samples = s.samples});
  }
  r.model->forward(r.batch.build(r.entries), r.cache, r.logits);
  const auto t1 = std::chrono::steady_clock::now();

  const auto vocab = static_cast<std::size_t>(r.config.vocab_size);
  std::size_t row = 0;
  for (const scheduled_request_plan& s : plan.scheduled) {
    if (!s.samples) continue;
    cached_request& c = r.requests.at(s.id);
    const std::span<const token_id> tokens(c.token_ids);
    const sample_context context{.prompt_tokens = tokens.first(static_cast<std::size_t>(c.num_prompt_tokens)),
                                 .output_tokens = tokens.subspan(static_cast<std::size_t>(c.num_prompt_tokens)),
                                 .seed = c.seed};
    const std::span<float> row_logits(r.logits.data() + row * vocab, vocab);
    ++row;
    sample_result result = r.sample.sample(row_logits, c.sampling, context);
    c.token_ids.push_back(result.token);
    out.sampled.push_back(sampled_token{.id = s.id, .result = std::move(result)});
  }
  r.counters.num_steps += 1;
  r.counters.forward_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  r.counters.sample_ns += elapsed_ns(t1);
  return out;
}

const model_config& model_runner::config() const { return impl_->config; }
std::int64_t model_runner::num_kv_blocks() const { return impl_->cache.shape.num_blocks; }
std::int32_t model_runner::block_size() const { return impl_->options.block_size; }
std::size_t model_runner::weight_bytes() const { return impl_->model->weight_bytes(); }

model_runner_stats model_runner::stats() const {
  model_runner_stats s = impl_->counters;
  s.num_cached_requests = impl_->requests.size();
  return s;
}

}  // namespace troupe
