#include "actors/replica_leader.hpp"

#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "actors/gateway.hpp"
#include "protocol/codec.hpp"
#include "actors/worker.hpp"
#include "engine/engine_core.hpp"

namespace troupe::actors {

namespace {

struct leader_state {
  replica_leader_options options;
  std::string self_name;
  std::string deployment;   // "head/deployment/<model>"
  caf::actor worker;
  std::unique_ptr<engine_core> core;
  wire::replica_state state = wire::replica_state::loading;
  std::unordered_map<request_id, std::uint64_t> router_ids;  // core id -> cluster id
  std::unordered_map<std::uint64_t, request_id> core_ids;    // cluster id -> core id
};

using leader_actor = caf::stateful_actor<leader_state>;

void report(leader_actor* self, wire::replica_state state, std::string message) {
  auto& st = self->state;
  st.state = state;
  wire::replica_status status{.replica_name = st.options.replica_name,
                              .node_name = st.options.node_name,
                              .leader_actor = st.self_name,
                              .state = state,
                              .message = std::move(message),
                              .num_kv_blocks = st.core ? st.core->num_kv_blocks() : 0,
                              .max_model_len = st.core ? st.core->max_model_len() : 0};
  send_wire(st.options.gateway, st.self_name, "head/coordinator", std::move(status));
}

wire::finish_kind finish_kind_of(const std::optional<finish_reason>& reason) {
  if (!reason) return wire::finish_kind::none;
  switch (*reason) {
    case finish_reason::stop: return wire::finish_kind::stop;
    case finish_reason::length: return wire::finish_kind::length;
    case finish_reason::abort: return wire::finish_kind::abort;
  }
  return wire::finish_kind::error;
}

wire::replica_outputs outputs_header(leader_actor* self) {
  auto& st = self->state;
  wire::replica_outputs out;
  out.replica_name = st.options.replica_name;
  if (st.core) {
    const engine_stats stats = st.core->stats();
    out.num_running = static_cast<std::int32_t>(stats.num_running);
    out.num_waiting = static_cast<std::int32_t>(stats.num_waiting);
    out.num_free_kv_blocks = stats.num_free_kv_blocks;
  }
  return out;
}

// Sends the core's outputs since the last flush to the deployment, in one message.
void flush(leader_actor* self) {
  auto& st = self->state;
  std::vector<request_output> outputs = st.core->take_outputs();
  if (outputs.empty()) return;
  wire::replica_outputs out = outputs_header(self);
  for (request_output& o : outputs) {
    auto it = st.router_ids.find(o.id);
    if (it == st.router_ids.end()) continue;
    wire::request_delta& d = out.deltas.emplace_back();
    d.request_id = it->second;
    d.new_token_ids = std::move(o.new_token_ids);
    d.new_text = std::move(o.new_text);
    d.new_logprobs = std::move(o.new_logprobs);
    d.finished = finish_kind_of(o.finished);
    d.stop_reason = std::move(o.stop_reason);
    d.num_prompt_tokens = o.num_prompt_tokens;
    d.num_cached_prompt_tokens = o.num_cached_prompt_tokens;
    if (o.finished) {
      spdlog::debug("leader {}: finished request {} ({})", st.options.replica_name, it->second, finish_reason_name(*o.finished));
      st.core_ids.erase(it->second);
      st.router_ids.erase(it);
    }
  }
  if (!out.deltas.empty()) send_wire(st.options.gateway, st.self_name, st.deployment, std::move(out));
}

void reject(leader_actor* self, std::uint64_t id, std::string message) {
  auto& st = self->state;
  wire::replica_outputs out = outputs_header(self);
  out.deltas.push_back(wire::request_delta{.request_id = id, .new_token_ids = {}, .new_text = {}, .new_logprobs = {},
                                           .finished = wire::finish_kind::error, .stop_reason = std::move(message),
                                           .num_prompt_tokens = 0, .num_cached_prompt_tokens = 0});
  send_wire(st.options.gateway, st.self_name, st.deployment, std::move(out));
}

// The replica cannot go on: every request it holds ends with an error, and the coordinator hears.
void fail_replica(leader_actor* self, const std::string& why) {
  auto& st = self->state;
  spdlog::error("leader {}: replica failed: {}", st.options.replica_name, why);
  for (const auto& [router_id, core_id] : st.core_ids) reject(self, router_id, "replica " + st.options.replica_name + " failed: " + why);
  st.core_ids.clear();
  st.router_ids.clear();
  report(self, wire::replica_state::failed, why);
}

// Plans and sends the next step unless one is in flight or there is nothing to do.
void pump(leader_actor* self) {
  auto& st = self->state;
  if (st.state != wire::replica_state::ready || st.core->step_in_flight()) return;
  flush(self);
  std::optional<step_plan> plan = st.core->schedule();
  if (!plan) return;
  self->request(st.worker, caf::infinite, step_atom::value, std::make_shared<const step_plan>(std::move(*plan)))
      .then(
          [self](const std::string& error, const step_result_ptr& result) {
            auto& st = self->state;
            if (st.state != wire::replica_state::ready) return;
            if (!error.empty()) return fail_replica(self, "the worker rejected a step: " + error);
            if (status s = st.core->update(*result); !s) return fail_replica(self, s.error().message);
            flush(self);
            pump(self);
          },
          [self](caf::error& e) { fail_replica(self, "the worker failed: " + self->system().render(e)); });
}

void on_generate(leader_actor* self, const wire::generate& g) {
  auto& st = self->state;
  if (st.state != wire::replica_state::ready) return reject(self, g.request_id, "replica " + st.options.replica_name + " is not ready");
  if (st.core_ids.contains(g.request_id)) return reject(self, g.request_id, "duplicate request id");
  result<request_id> id = st.core->add_request(generation_request{.prompt_token_ids = g.prompt_token_ids,
                                                                  .sampling = g.sampling,
                                                                  .priority = g.priority});
  if (!id) return reject(self, g.request_id, id.error().message);
  st.router_ids[*id] = g.request_id;
  st.core_ids[g.request_id] = *id;
  pump(self);
}

void on_loaded(leader_actor* self, const worker_ready& ready) {
  auto& st = self->state;
  result<prompt_builder> prompts = prompt_builder::load(st.options.model.path);
  if (!prompts) return fail_replica(self, prompts.error().message);
  const auto& m = st.options.model;
  result<std::unique_ptr<engine_core>> core = engine_core::create(
      engine_core_options{.max_num_seqs = m.max_num_seqs,
                          .max_num_batched_tokens = m.max_num_batched_tokens,
                          .max_model_len = m.max_model_len,
                          .block_size = ready.block_size,
                          .num_kv_blocks = ready.num_kv_blocks,
                          .enable_prefix_caching = true},
      ready.config, std::make_shared<const prompt_builder>(std::move(prompts).value()));
  if (!core) return fail_replica(self, core.error().message);
  st.core = std::move(core).value();
  spdlog::info("leader {}: ready (max_model_len {}, {} KV blocks)", st.options.replica_name, st.core->max_model_len(),
               st.core->num_kv_blocks());
  report(self, wire::replica_state::ready, "ready");
}

// CPU workers compute in float32 whatever the checkpoint stores.
status check_dtype(const std::string& dtype) {
  if (dtype == "auto" || dtype == "float32") return ok();
  return make_error(errc::unsupported, "dtype {} is not available on CPU devices, which compute in float32 (use auto or float32)", dtype);
}

caf::behavior leader_behavior(leader_actor* self, replica_leader_options options) {
  auto& st = self->state;
  st.self_name = full_actor_name(options.node_name, leader_local_name(options.replica_name));
  st.deployment = full_actor_name("head", "deployment/" + options.model.name);
  st.options = std::move(options);
  self->send(st.options.gateway, register_atom::value, leader_local_name(st.options.replica_name), caf::actor_cast<caf::actor>(self));
  const std::string& device = st.options.device_names.at(0);
  st.worker = spawn_worker(self->system(), device);
  self->link_to(st.worker);
  self->send(st.options.gateway, register_atom::value, worker_local_name(device), st.worker);
  report(self, wire::replica_state::loading, "loading " + st.options.model.path);
  if (status s = check_dtype(st.options.model.dtype); !s) {
    fail_replica(self, s.error().message);
  } else {
    const auto& m = st.options.model;
    model_runner_options runner{.model_dir = m.path,
                                .device = "cpu",
                                .num_threads = st.options.num_threads,
                                .max_num_seqs = m.max_num_seqs,
                                .max_num_batched_tokens = m.max_num_batched_tokens,
                                .block_size = m.block_size,
                                .kv_cache_bytes = static_cast<std::int64_t>(m.kv_cache_bytes),
                                .num_kv_blocks = 0,
                                .cpu_bf16_dot_products = false};
    self->request(st.worker, caf::infinite, load_atom::value, std::move(runner))
        .then(
            [self](const std::string& error, const worker_ready& ready) {
              if (!error.empty()) return fail_replica(self, error);
              on_loaded(self, ready);
            },
            [self](caf::error& e) { fail_replica(self, "the worker failed while loading: " + self->system().render(e)); });
  }
  return {
      [self](const envelope_ptr& env) {
        if (const auto* g = std::get_if<wire::generate>(&env->message)) {
          on_generate(self, *g);
        } else if (const auto* a = std::get_if<wire::abort_requests>(&env->message)) {
          auto& st = self->state;
          if (st.state != wire::replica_state::ready) return;
          for (const std::uint64_t id : a->request_ids) {
            if (auto it = st.core_ids.find(id); it != st.core_ids.end()) st.core->abort(it->second);
          }
          flush(self);
          pump(self);
        } else {
          spdlog::warn("leader {}: unexpected {} from {}", self->state.options.replica_name, wire::body_name(env->message),
                       env->source);
        }
      },
  };
}

}  // namespace

caf::actor spawn_replica_leader(caf::actor_system& system, replica_leader_options options) {
  return system.spawn(leader_behavior, std::move(options));
}

}  // namespace troupe::actors
