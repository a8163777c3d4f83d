#include "actors/coordinator.hpp"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "actors/gateway.hpp"
#include "protocol/codec.hpp"
#include "actors/membership.hpp"

namespace troupe::actors {

namespace {

struct coordinator_state {
  coordinator_options options;
  std::unique_ptr<membership> members;
  std::size_t last_num_ready = 0;
  std::string self_name;
};

using coordinator_actor = caf::stateful_actor<coordinator_state>;

void send_to(coordinator_actor* self, std::string target, wire::body body) {
  send_wire(self->state.options.gateway, self->state.self_name, std::move(target), std::move(body));
}

void report_ready_change(coordinator_actor* self) {
  auto& st = self->state;
  const std::size_t ready = st.members->num_ready();
  if (ready == st.last_num_ready) return;
  st.last_num_ready = ready;
  spdlog::info("coordinator: {} of {} replicas ready", ready, st.members->num_replicas());
  if (st.options.on_ready_change) st.options.on_ready_change(ready, st.members->num_replicas());
}

void node_dead(coordinator_actor* self, const std::string& node, const std::string& reason) {
  auto& st = self->state;
  const node_entry* entry = st.members->find_node(node);
  if (entry == nullptr || !entry->alive) return;  // unknown, or already dead
  const std::vector<std::string> gone = st.members->fail(node);
  spdlog::error("coordinator: node {} is dead ({}); {} replica(s) leave the map", node, reason, gone.size());
  for (const std::string& name : gone) {
    const replica_entry* r = st.members->find_replica(name);
    if (auto it = st.options.deployments.find(r->placement.model); it != st.options.deployments.end()) {
      self->send(it->second, replica_gone{.replica_name = name, .reason = fmt::format("node {} failed: {}", node, reason)});
    }
  }
  report_ready_change(self);
}

wire::model_spec model_spec_for(const cluster_config& config, const std::string& model) {
  for (const model_deployment_config& m : config.models) {
    if (m.name != model) continue;
    return wire::model_spec{.name = m.name,
                            .path = m.path.string(),
                            .dtype = m.dtype,
                            .max_model_len = m.max_model_len,
                            .block_size = m.kv_cache.block_size,
                            .kv_cache_bytes = m.kv_cache.memory_bytes,
                            .max_num_seqs = m.max_num_seqs,
                            .max_num_batched_tokens = m.max_num_batched_tokens};
  }
  return {};
}

void on_join(coordinator_actor* self, const wire::join_request& join) {
  auto& st = self->state;
  const std::string agent = full_actor_name(join.node_name, "agent");
  if (status s = st.members->join(join, std::chrono::steady_clock::now()); !s) {
    spdlog::error("coordinator: refused node {}: {}", join.node_name, s.error().message);
    send_to(self, agent, wire::join_reply{.accepted = false, .error = s.error().message, .heartbeat_interval_ms = 0});
    return;
  }
  spdlog::info("coordinator: node {} joined from {} (pid {}, {} device(s))", join.node_name, join.transport_address,
               join.pid, join.devices.size());
  send_to(self, agent,
          wire::join_reply{.accepted = true,
                           .error = {},
                           .heartbeat_interval_ms = static_cast<std::uint32_t>(st.options.heartbeat_interval.count())});
  for (const replica_placement& p : st.members->take_unassigned(join.node_name)) {
    spdlog::info("coordinator: placing replica {} on {} ({})", p.replica_name, p.node, fmt::join(p.devices, ", "));
    send_to(self, agent,
            wire::assign_replica{.replica_name = p.replica_name,
                                 .model = model_spec_for(*st.options.config, p.model),
                                 .device_names = p.devices});
    if (auto it = st.options.deployments.find(p.model); it != st.options.deployments.end()) {
      self->send(it->second, replica_info{.replica_name = p.replica_name, .model = p.model, .node = p.node,
                                          .leader_actor = {}, .state = wire::replica_state::loading,
                                          .message = "assigned", .max_model_len = 0});
    }
  }
}

void on_status(coordinator_actor* self, const wire::envelope& env, const wire::replica_status& status) {
  auto& st = self->state;
  if (split_actor_name(env.source).process != status.node_name) {
    spdlog::error("coordinator: replica status for {} from {} claims node {}", status.replica_name, env.source,
                  status.node_name);
    return;
  }
  if (troupe::status s = st.members->update(status); !s) {
    spdlog::warn("coordinator: ignoring status of {}: {}", status.replica_name, s.error().message);
    return;
  }
  const replica_entry* r = st.members->find_replica(status.replica_name);
  if (status.state == wire::replica_state::failed) {
    // `troupe up` watches for this line.
    spdlog::error("troupe: failed: replica {} on {}: {}", status.replica_name, status.node_name, status.message);
  } else {
    spdlog::info("coordinator: replica {} on {}: {}", status.replica_name, status.node_name,
                 status.state == wire::replica_state::ready ? std::string("ready") : status.message);
  }
  if (auto it = st.options.deployments.find(r->placement.model); it != st.options.deployments.end()) {
    self->send(it->second, replica_info{.replica_name = status.replica_name, .model = r->placement.model,
                                        .node = status.node_name, .leader_actor = status.leader_actor,
                                        .state = status.state, .message = status.message,
                                        .max_model_len = status.max_model_len});
  }
  report_ready_change(self);
}

caf::behavior coordinator_behavior(coordinator_actor* self, coordinator_options options,
                                   std::vector<replica_placement> placements) {
  auto& st = self->state;
  st.self_name = full_actor_name("head", coordinator_local_name);
  st.members = std::make_unique<membership>(*options.config, std::move(placements));
  st.options = std::move(options);
  self->send(st.options.gateway, register_atom::value, std::string(coordinator_local_name), caf::actor_cast<caf::actor>(self));
  self->send(st.options.gateway, watch_atom::value, caf::actor_cast<caf::actor>(self));
  self->delayed_send(self, st.options.heartbeat_interval, tick_atom::value);
  return {
      [self](const envelope_ptr& env) {
        std::visit(
            [&](const auto& body) {
              using T = std::decay_t<decltype(body)>;
              if constexpr (std::is_same_v<T, wire::join_request>) {
                if (split_actor_name(env->source).process != body.node_name) {
                  spdlog::error("coordinator: join of node {} sent by {}", body.node_name, env->source);
                  return;
                }
                on_join(self, body);
              } else if constexpr (std::is_same_v<T, wire::heartbeat>) {
                if (split_actor_name(env->source).process != body.node_name) return;
                if (!self->state.members->heard_from(body.node_name, std::chrono::steady_clock::now())) {
                  // A node declared dead (e.g. hung, then resumed) must not linger half alive: the
                  // refusal makes its agent stop the process; restarted, it joins again.
                  send_to(self, env->source,
                          wire::join_reply{.accepted = false,
                                           .error = fmt::format("node {} was declared dead; restart it to rejoin", body.node_name),
                                           .heartbeat_interval_ms = 0});
                }
              } else if constexpr (std::is_same_v<T, wire::replica_status>) {
                on_status(self, *env, body);
              } else {
                spdlog::warn("coordinator: unexpected {} from {}", wire::body_name(env->message), env->source);
              }
            },
            env->message);
      },
      [self](tick_atom) {
        auto& st = self->state;
        for (const std::string& node : st.members->expire(std::chrono::steady_clock::now(), st.options.failure_timeout)) {
          node_dead(self, node, fmt::format("no heartbeat for {} ms", st.options.failure_timeout.count()));
        }
        self->delayed_send(self, st.options.heartbeat_interval, tick_atom::value);
      },
      [](peer_up_atom, const std::string&) {},
      [self](peer_down_atom, const std::string& peer, const std::string& reason) { node_dead(self, peer, reason); },
  };
}

}  // namespace

result<caf::actor> spawn_coordinator(caf::actor_system& system, coordinator_options options) {
  TROUPE_ASSIGN_OR_RETURN(std::vector<replica_placement> placements, place_replicas(*options.config));
  return system.spawn(coordinator_behavior, std::move(options), std::move(placements));
}

}  // namespace troupe::actors
