#include "engine/engine.hpp"

#include <chrono>
#include <stdexcept>

#include "engine/engine_core.hpp"
#include "engine/model_runner.hpp"
#include "engine/prompt_builder.hpp"

namespace troupe {

std::string_view finish_reason_name(finish_reason reason) {
  switch (reason) {
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
    case finish_reason::abort: return "abort";
  }
  return "?";
}

// One process plays both sides of a replica: the leader's engine_core plans each step and the
// worker's model_runner executes it.
struct engine::impl {
  std::unique_ptr<model_runner> runner;
  std::unique_ptr<engine_core> core;
  std::vector<request_output> outputs;
  std::int64_t execute_ns = 0;
};

result<std::unique_ptr<engine>> engine::create(const engine_options& options) {
  if (options.max_model_len < 0) {
    return make_error(errc::invalid_argument, "max_model_len must be >= 0, got {}", options.max_model_len);
  }
  TROUPE_ASSIGN_OR_RETURN(prompt_builder prompts, prompt_builder::load(options.model_dir));
  auto e = std::make_unique<impl>();
  TROUPE_ASSIGN_OR_RETURN(e->runner, model_runner::create(model_runner_options{
                                         .model_dir = options.model_dir,
                                         .device = options.device,
                                         .num_threads = options.num_threads,
                                         .max_num_seqs = options.max_num_seqs,
                                         .max_num_batched_tokens = options.max_num_batched_tokens,
                                         .block_size = options.block_size,
                                         .kv_cache_bytes = options.kv_cache_bytes,
                                         .num_kv_blocks = options.num_kv_blocks,
                                         .cpu_bf16_dot_products = options.cpu_bf16_dot_products}));
  TROUPE_ASSIGN_OR_RETURN(e->core, engine_core::create(engine_core_options{
                                                           .max_num_seqs = options.max_num_seqs,
                                                           .max_num_batched_tokens = options.max_num_batched_tokens,
                                                           .max_model_len = options.max_model_len,
                                                           .block_size = options.block_size,
                                                           .num_kv_blocks = e->runner->num_kv_blocks(),
                                                           .enable_prefix_caching = options.enable_prefix_caching},
                                                       e->runner->config(),
                                                       std::make_shared<const prompt_builder>(std::move(prompts))));
  return std::unique_ptr<engine>(new engine(std::move(e)));
}

engine::engine(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
engine::~engine() = default;

result<request_id> engine::add_request(generation_request request) { return impl_->core->add_request(std::move(request)); }
bool engine::abort(request_id id) { return impl_->core->abort(id); }

// schedule -> execute -> update.
const std::vector<request_output>& engine::step() {
  impl& e = *impl_;
  if (std::optional<step_plan> plan = e.core->schedule()) {
    const auto t0 = std::chrono::steady_clock::now();
    result<step_result> executed = e.runner->execute(*plan);
    e.execute_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    // The plan was made here from validated requests: a rejection is a bug, not an input error.
    if (!executed) throw std::logic_error("engine: the model runner rejected a local plan: " + executed.error().to_string());
    if (status s = e.core->update(*executed); !s) throw std::logic_error("engine: " + s.error().to_string());
  }
  e.outputs = e.core->take_outputs();
  return e.outputs;
}

bool engine::has_unfinished() const { return impl_->core->has_unfinished(); }
const model_config& engine::config() const { return impl_->core->config(); }
const tokenizer& engine::get_tokenizer() const { return impl_->core->prompts().get_tokenizer(); }
const prompt_builder& engine::prompts() const { return impl_->core->prompts(); }
std::int32_t engine::max_model_len() const { return impl_->core->max_model_len(); }
std::size_t engine::weight_bytes() const { return impl_->runner->weight_bytes(); }

engine_stats engine::stats() const {
  engine_stats s = impl_->core->stats();
  s.execute_ns = impl_->execute_ns;
  return s;
}

}  // namespace troupe
