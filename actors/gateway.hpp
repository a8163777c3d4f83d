// The gateway actor of a process: the only door between this process's CAF actors and the
// other troupe processes (ARCHITECTURE.md section 3). It
//   - names local actors ("worker/cpu:0" registered here is "node1/worker/cpu:0" everywhere),
//   - delivers inbound wire messages (decoded and validated by protocol/) to the named actor as
//     an envelope_ptr; a message whose source claims another process than the peer it came from
//     is dropped,
//   - sends outbound envelopes: to a local actor directly, to another process through the
//     transport (encoded by protocol/),
//   - tells watchers when a peer connects (peer_up_atom, name) or its endpoint fails
//     (peer_down_atom, name, reason).
//
// Messages it handles:
//   (register_atom, std::string local_name, caf::actor)   name a local actor (until it exits)
//   (watch_atom, caf::actor)                              receive peer_up / peer_down
//   (send_atom, envelope_ptr)                             deliver by envelope.target
//   (inbound_atom, std::string peer, bytes_ptr)           from the transport's progress thread
//   (peer_up_atom, std::string peer) / (peer_down_atom, std::string peer, std::string reason)
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "transport/transport.hpp"

namespace troupe::actors {

using bytes_ptr = std::shared_ptr<const std::vector<std::byte>>;

struct gateway_options {
  std::string process_name;  // "head", "node0"
  transport* net = nullptr;  // outlives the gateway
};

caf::actor spawn_gateway(caf::actor_system& system, gateway_options options);

// Transport callbacks that forward to a gateway actor; the actor is set once it is spawned
// (the transport must exist first). Events before that are dropped.
class gateway_link {
 public:
  void set(caf::actor gateway);
  transport_callbacks callbacks();

 private:
  std::mutex mutex_;
  caf::actor gateway_;
  caf::actor get();
};

// Sends `body` from local actor `source` (full name) to the actor named `target` (full name).
void send_wire(const caf::actor& gateway, std::string source, std::string target, wire::body body);

}  // namespace troupe::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::actors::bytes_ptr)
