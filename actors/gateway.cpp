#include "actors/gateway.hpp"

#include <unordered_map>

#include <spdlog/spdlog.h>

#include "actors/actor_names.hpp"
#include "protocol/codec.hpp"

namespace troupe::actors {

namespace {

struct gateway_state {
  gateway_options options;
  std::unordered_map<std::string, caf::actor> registry;  // local name -> actor
  std::vector<caf::actor> watchers;
  std::uint64_t num_dropped = 0;
};

void deliver_local(caf::stateful_actor<gateway_state>* self, std::string_view local, envelope_ptr env) {
  auto& st = self->state;
  auto it = st.registry.find(std::string(local));
  if (it == st.registry.end()) {
    ++st.num_dropped;
    spdlog::warn("gateway {}: no actor named '{}' here; dropping {} from {}", st.options.process_name, local,
                 wire::body_name(env->message), env->source);
    return;
  }
  self->send(it->second, std::move(env));
}

void send_outbound(caf::stateful_actor<gateway_state>* self, envelope_ptr env) {
  auto& st = self->state;
  const actor_name target = split_actor_name(env->target);
  if (target.process.empty()) {
    spdlog::error("gateway {}: malformed target name '{}' from {}", st.options.process_name, env->target, env->source);
    return;
  }
  if (target.process == st.options.process_name) {
    deliver_local(self, target.local, std::move(env));
    return;
  }
  const std::vector<std::byte> bytes = wire::encode(*env);
  if (status s = st.options.net->send(std::string(target.process), bytes); !s) {
    ++st.num_dropped;
    spdlog::warn("gateway {}: cannot send {} to {}: {}", st.options.process_name, wire::body_name(env->message),
                 env->target, s.error().message);
  }
}

void receive_inbound(caf::stateful_actor<gateway_state>* self, const std::string& peer, const bytes_ptr& bytes) {
  auto& st = self->state;
  result<wire::envelope> decoded = wire::decode(*bytes);
  if (!decoded) {
    ++st.num_dropped;
    spdlog::error("gateway {}: dropping a malformed message from {}: {}", st.options.process_name, peer,
                  decoded.error().message);
    return;
  }
  const actor_name source = split_actor_name(decoded->source);
  const actor_name target = split_actor_name(decoded->target);
  if (source.process != peer || target.process != st.options.process_name) {
    ++st.num_dropped;
    spdlog::error("gateway {}: dropping {} from peer {} that claims source '{}' and target '{}'",
                  st.options.process_name, wire::body_name(decoded->message), peer, decoded->source, decoded->target);
    return;
  }
  const std::string local(target.local);
  deliver_local(self, local, std::make_shared<const wire::envelope>(std::move(decoded).value()));
}

caf::behavior gateway_actor(caf::stateful_actor<gateway_state>* self, gateway_options options) {
  self->state.options = std::move(options);
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& reg = self->state.registry;
    std::erase_if(reg, [&](const auto& entry) { return entry.second.address() == down.source; });
    std::erase_if(self->state.watchers, [&](const caf::actor& a) { return a.address() == down.source; });
  });
  return {
      [self](register_atom, const std::string& local, const caf::actor& actor) {
        self->monitor(actor);
        self->state.registry[local] = actor;
      },
      [self](watch_atom, const caf::actor& actor) {
        self->monitor(actor);
        self->state.watchers.push_back(actor);
      },
      [self](send_atom, envelope_ptr env) { send_outbound(self, std::move(env)); },
      [self](inbound_atom, const std::string& peer, const bytes_ptr& bytes) { receive_inbound(self, peer, bytes); },
      [self](peer_up_atom, const std::string& peer) {
        spdlog::info("gateway {}: connected to {}", self->state.options.process_name, peer);
        for (const caf::actor& w : self->state.watchers) self->send(w, peer_up_atom::value, peer);
      },
      [self](peer_down_atom, const std::string& peer, const std::string& reason) {
        spdlog::warn("gateway {}: lost {}: {}", self->state.options.process_name, peer, reason);
        for (const caf::actor& w : self->state.watchers) self->send(w, peer_down_atom::value, peer, reason);
      },
  };
}

}  // namespace

caf::actor spawn_gateway(caf::actor_system& system, gateway_options options) {
  return system.spawn(gateway_actor, std::move(options));
}

void gateway_link::set(caf::actor gateway) {
  std::lock_guard lock(mutex_);
  gateway_ = std::move(gateway);
}

caf::actor gateway_link::get() {
  std::lock_guard lock(mutex_);
  return gateway_;
}

transport_callbacks gateway_link::callbacks() {
  return transport_callbacks{
      .on_message =
          [this](const std::string& peer, std::span<const std::byte> bytes) {
            if (caf::actor gw = get()) {
              caf::anon_send(gw, inbound_atom::value, peer,
                             std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end()));
            }
          },
      .on_peer_connected =
          [this](const std::string& peer) {
            if (caf::actor gw = get()) caf::anon_send(gw, peer_up_atom::value, peer);
          },
      .on_peer_failed =
          [this](const std::string& peer, const std::string& reason) {
            if (caf::actor gw = get()) caf::anon_send(gw, peer_down_atom::value, peer, reason);
          },
  };
}

void send_wire(const caf::actor& gateway, std::string source, std::string target, wire::body body) {
  caf::anon_send(gateway, send_atom::value,
                 std::make_shared<const wire::envelope>(wire::envelope{.version = wire::protocol_version,
                                                                       .source = std::move(source),
                                                                       .target = std::move(target),
                                                                       .message = std::move(body)}));
}

}  // namespace troupe::actors
