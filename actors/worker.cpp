#include "actors/worker.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

namespace troupe::actors {

namespace {

struct worker_state {
  std::string device;
  std::unique_ptr<model_runner> runner;
};

using worker_actor = caf::stateful_actor<worker_state>;

caf::behavior worker_behavior(worker_actor* self, std::string device) {
  self->state.device = std::move(device);
  return {
      [self](load_atom, const model_runner_options& options) -> caf::message {
        auto& st = self->state;
        spdlog::info("worker {}: loading {} ({} threads)", st.device, options.model_dir.string(), options.num_threads);
        const auto t0 = std::chrono::steady_clock::now();
        model_runner_options with_progress = options;
        int last_decile = 0;
        with_progress.on_load_progress = [&](std::int32_t done, std::int32_t total, std::size_t bytes) {
          const int decile = total > 0 ? done * 10 / total : 10;
          if (decile == last_decile) return;
          last_decile = decile;
          spdlog::info("worker {}: loading weights: layer {}/{} ({:.1f} MiB)", st.device, done, total,
                       static_cast<double>(bytes) / (1 << 20));
        };
        result<std::unique_ptr<model_runner>> runner = model_runner::create(with_progress);
        if (!runner) {
          spdlog::error("worker {}: cannot load {}: {}", st.device, options.model_dir.string(), runner.error().message);
          return caf::make_message(runner.error().message, worker_ready{});
        }
        st.runner = std::move(runner).value();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        spdlog::info("worker {}: loaded {:.1f} MiB of weights in {:.2f} s; KV cache {} blocks of {} tokens", st.device,
                     static_cast<double>(st.runner->weight_bytes()) / (1 << 20), seconds, st.runner->num_kv_blocks(),
                     st.runner->block_size());
        return caf::make_message(std::string(), worker_ready{.num_kv_blocks = st.runner->num_kv_blocks(),
                                                             .block_size = st.runner->block_size(),
                                                             .weight_bytes = st.runner->weight_bytes(),
                                                             .config = st.runner->config()});
      },
      [self](step_atom, const step_plan_ptr& plan) -> caf::message {
        auto& st = self->state;
        if (!st.runner) return caf::make_message(std::string("the worker has no model loaded"), step_result_ptr{});
        result<step_result> out = st.runner->execute(*plan);
        if (!out) return caf::make_message(out.error().message, step_result_ptr{});
        return caf::make_message(std::string(), std::make_shared<const step_result>(std::move(out).value()));
      },
  };
}

}  // namespace

caf::actor spawn_worker(caf::actor_system& system, std::string device_name) {
  return system.spawn<caf::detached>(worker_behavior, std::move(device_name));
}

}  // namespace troupe::actors
