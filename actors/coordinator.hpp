// The coordinator actor ("head/coordinator"): node membership, failure detection, replica
// placement and the cluster map (ARCHITECTURE.md section 2). Logic lives in `membership`.
//
// Messages:
//   envelope join_request (node agent)   -> join_reply; then assign_replica for the node's replicas
//   envelope heartbeat (node agent)      -> refreshes the node's deadline
//   envelope replica_status (leader)     -> cluster map; replica_info to the model's deployment
//   (peer_down_atom, peer, reason)       -> the node is dead at once (endpoint failure)
//   (tick_atom)                          -> self, every heartbeat interval: nodes silent for longer
//                                           than failure_timeout are dead
// A dead node's replicas leave the map: replica_gone goes to their deployments.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "config/cluster_config.hpp"

namespace troupe::actors {

struct coordinator_options {
  std::shared_ptr<const cluster_config> config;
  caf::actor gateway;
  std::map<std::string, caf::actor> deployments;  // by model name
  std::chrono::milliseconds heartbeat_interval{250};
  std::chrono::milliseconds failure_timeout{1500};
  // Called (on the actor's thread) whenever the number of ready replicas changes.
  std::function<void(std::size_t num_ready, std::size_t num_replicas)> on_ready_change;
};

// Errors when the config's replicas cannot be placed on its nodes.
result<caf::actor> spawn_coordinator(caf::actor_system& system, coordinator_options options);

inline constexpr const char* coordinator_local_name = "coordinator";

}  // namespace troupe::actors
