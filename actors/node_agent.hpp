// The node agent actor ("<node>/agent"): the node's membership in the cluster. It joins the
// coordinator with the node's device inventory, sends heartbeats, and starts a replica leader
// (with its worker) for every replica the coordinator assigns here. Losing the head, or being
// refused, ends the node process through `on_exit`.
//
// Messages:
//   envelope join_reply (coordinator)       -> heartbeats start, or on_exit(1, reason)
//   envelope assign_replica (coordinator)   -> spawn_replica_leader
//   (tick_atom)                             -> self: heartbeat
//   (peer_down_atom, peer, reason)          -> the head is gone: on_exit(1, ...)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace troupe::actors {

struct node_agent_options {
  std::string node_name;
  std::string transport_address;  // this node's listener
  std::vector<wire::device_info> devices;
  std::int32_t threads_per_device = 0;
  caf::actor gateway;
  std::function<void(int exit_code, std::string reason)> on_exit;
};

caf::actor spawn_node_agent(caf::actor_system& system, node_agent_options options);

}  // namespace troupe::actors
