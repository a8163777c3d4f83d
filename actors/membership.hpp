// The coordinator's bookkeeping, without CAF: which nodes joined, when each was last heard from,
// which replica lives where and in which state. The coordinator actor wires it to messages.
//
//   node:     (absent) --join--> alive --missed heartbeats / endpoint failure--> dead --join--> alive
//   replica:  (placed) --node joins--> loading --status--> ready | failed;  node dies -> removed
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.hpp"
#include "engine/common/result.hpp"
#include "protocol/messages.hpp"

namespace troupe::actors {

using steady_time = std::chrono::steady_clock::time_point;

struct node_entry {
  std::string name;
  bool alive = false;
  steady_time last_heard{};
  wire::join_request join;  // devices, address, pid
};

struct replica_entry {
  replica_placement placement;
  bool assigned = false;  // sent to its node (since that node last joined)
  wire::replica_status status;
};

class membership {
 public:
  // `placements`: every replica of every model (place_replicas over the configured nodes).
  membership(const cluster_config& config, std::vector<replica_placement> placements);

  // A node joins (or rejoins after it died). Errors (the reply's reason): a name not in
  // cluster.yaml, a node of that name already alive, devices missing that its replicas need.
  status join(const wire::join_request& request, steady_time now);
  // False when the node is unknown or dead (a late heartbeat of a dead node does not revive it).
  bool heard_from(const std::string& node, steady_time now);
  // Nodes alive but silent for longer than `timeout`, now marked dead.
  std::vector<std::string> expire(steady_time now, std::chrono::milliseconds timeout);
  // Marks a node dead; returns the names of its replicas (which leave the map). Empty when it
  // was not alive.
  std::vector<std::string> fail(const std::string& node);
  // Replicas placed on `node` that have not been assigned since it joined; marks them assigned.
  std::vector<replica_placement> take_unassigned(const std::string& node);
  // A leader's report. Error when the replica is unknown or its node is not alive.
  status update(const wire::replica_status& status);

  const replica_entry* find_replica(const std::string& replica_name) const;
  const node_entry* find_node(const std::string& node) const;
  std::size_t num_replicas() const { return replicas_.size(); }
  std::size_t num_ready() const;
  std::size_t num_alive() const;

 private:
  const cluster_config* config_;
  std::map<std::string, node_entry> nodes_;
  std::map<std::string, replica_entry> replicas_;  // by replica name
};

}  // namespace troupe::actors
