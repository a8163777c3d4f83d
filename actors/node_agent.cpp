#include "actors/node_agent.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "actors/gateway.hpp"
#include "protocol/codec.hpp"
#include "actors/replica_leader.hpp"

namespace troupe::actors {

namespace {

struct agent_state {
  node_agent_options options;
  std::string self_name;
  bool joined = false;
  std::chrono::milliseconds heartbeat_interval{250};
  std::uint64_t sequence = 0;
  std::vector<caf::actor> leaders;
};

using agent_actor = caf::stateful_actor<agent_state>;

void on_envelope(agent_actor* self, const wire::envelope& env) {
  auto& st = self->state;
  if (const auto* reply = std::get_if<wire::join_reply>(&env.message)) {
    if (!reply->accepted) {
      spdlog::error("node {}: refused by the coordinator: {}", st.options.node_name, reply->error);
      st.options.on_exit(1, "refused by the coordinator: " + reply->error);
      return;
    }
    st.joined = true;
    st.heartbeat_interval = std::chrono::milliseconds(std::max<std::uint32_t>(reply->heartbeat_interval_ms, 10));
    spdlog::info("node {}: joined the cluster (heartbeat every {} ms)", st.options.node_name, st.heartbeat_interval.count());
    self->send(self, tick_atom::value);
  } else if (const auto* assign = std::get_if<wire::assign_replica>(&env.message)) {
    spdlog::info("node {}: starting replica {} of {} on {}", st.options.node_name, assign->replica_name,
                 assign->model.name, assign->device_names.empty() ? std::string("?") : assign->device_names[0]);
    if (assign->device_names.size() != 1) {
      spdlog::error("node {}: replica {} needs {} devices; this build runs tp=1 pp=1 replicas", st.options.node_name,
                    assign->replica_name, assign->device_names.size());
      send_wire(st.options.gateway, st.self_name, "head/coordinator",
                wire::replica_status{.replica_name = assign->replica_name, .node_name = st.options.node_name,
                                     .leader_actor = {}, .state = wire::replica_state::failed,
                                     .message = "multi-device replicas are not available in this build",
                                     .num_kv_blocks = 0, .max_model_len = 0});
      return;
    }
    st.leaders.push_back(spawn_replica_leader(self->system(),
                                              replica_leader_options{.node_name = st.options.node_name,
                                                                     .replica_name = assign->replica_name,
                                                                     .model = assign->model,
                                                                     .device_names = assign->device_names,
                                                                     .num_threads = st.options.threads_per_device,
                                                                     .gateway = st.options.gateway}));
  } else {
    spdlog::warn("node {}: unexpected {} from {}", st.options.node_name, wire::body_name(env.message), env.source);
  }
}

caf::behavior agent_behavior(agent_actor* self, node_agent_options options) {
  auto& st = self->state;
  st.self_name = full_actor_name(options.node_name, "agent");
  st.options = std::move(options);
  self->send(st.options.gateway, register_atom::value, std::string("agent"), caf::actor_cast<caf::actor>(self));
  self->send(st.options.gateway, watch_atom::value, caf::actor_cast<caf::actor>(self));
  send_wire(st.options.gateway, st.self_name, "head/coordinator",
            wire::join_request{.node_name = st.options.node_name,
                               .transport_address = st.options.transport_address,
                               .pid = static_cast<std::int32_t>(::getpid()),
                               .devices = st.options.devices});
  return {
      [self](const envelope_ptr& env) { on_envelope(self, *env); },
      [self](tick_atom) {
        auto& st = self->state;
        send_wire(st.options.gateway, st.self_name, "head/coordinator",
                  wire::heartbeat{.node_name = st.options.node_name, .sequence = ++st.sequence});
        self->delayed_send(self, st.heartbeat_interval, tick_atom::value);
      },
      [](peer_up_atom, const std::string&) {},
      [self](peer_down_atom, const std::string& peer, const std::string& reason) {
        if (peer == "head") self->state.options.on_exit(1, "lost the head: " + reason);
      },
  };
}

}  // namespace

caf::actor spawn_node_agent(caf::actor_system& system, node_agent_options options) {
  return system.spawn(agent_behavior, std::move(options));
}

}  // namespace troupe::actors
