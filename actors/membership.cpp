#include "actors/membership.hpp"

#include <algorithm>

namespace troupe::actors {

membership::membership(const cluster_config& config, std::vector<replica_placement> placements) : config_(&config) {
  for (replica_placement& p : placements) {
    replica_entry entry;
    entry.status.replica_name = p.replica_name;
    entry.status.node_name = p.node;
    entry.status.state = wire::replica_state::stopped;
    entry.placement = std::move(p);
    replicas_.emplace(entry.placement.replica_name, std::move(entry));
  }
}

status membership::join(const wire::join_request& request, steady_time now) {
  const node_config* configured = config_->find_node(request.node_name);
  if (configured == nullptr) {
    return make_error(errc::invalid_argument, "node '{}' is not in {}", request.node_name, config_->file.string());
  }
  if (auto it = nodes_.find(request.node_name); it != nodes_.end() && it->second.alive) {
    return make_error(errc::invalid_argument, "node '{}' already joined (pid {}); a second process with that name was refused",
                      request.node_name, it->second.join.pid);
  }
  for (const auto& [name, replica] : replicas_) {
    if (replica.placement.node != request.node_name) continue;
    for (const std::string& device : replica.placement.devices) {
      const bool present = std::ranges::any_of(request.devices, [&](const wire::device_info& d) { return d.name == device; });
      if (!present) {
        return make_error(errc::invalid_argument, "node '{}' joined without device {} that replica {} needs",
                          request.node_name, device, name);
      }
    }
  }
  node_entry& node = nodes_[request.node_name];
  node.name = request.node_name;
  node.alive = true;
  node.last_heard = now;
  node.join = request;
  for (auto& [name, replica] : replicas_) {
    if (replica.placement.node == request.node_name) replica.assigned = false;
  }
  return ok();
}

bool membership::heard_from(const std::string& node, steady_time now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.alive) return false;
  it->second.last_heard = now;
  return true;
}

std::vector<std::string> membership::expire(steady_time now, std::chrono::milliseconds timeout) {
  std::vector<std::string> expired;
  for (const auto& [name, node] : nodes_) {
    if (node.alive && now - node.last_heard > timeout) expired.push_back(name);
  }
  return expired;
}

std::vector<std::string> membership::fail(const std::string& node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.alive) return {};
  it->second.alive = false;
  std::vector<std::string> gone;
  for (auto& [name, replica] : replicas_) {
    if (replica.placement.node != node) continue;
    if (replica.assigned) gone.push_back(name);
    replica.assigned = false;
    replica.status.state = wire::replica_state::stopped;
  }
  return gone;
}

std::vector<replica_placement> membership::take_unassigned(const std::string& node) {
  std::vector<replica_placement> out;
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.alive) return out;
  for (auto& [name, replica] : replicas_) {
    if (replica.placement.node != node || replica.assigned) continue;
    replica.assigned = true;
    replica.status.state = wire::replica_state::loading;
    replica.status.message = "assigned";
    out.push_back(replica.placement);
  }
  return out;
}

status membership::update(const wire::replica_status& status) {
  auto it = replicas_.find(status.replica_name);
  if (it == replicas_.end()) return make_error(errc::not_found, "unknown replica '{}'", status.replica_name);
  replica_entry& replica = it->second;
  if (status.node_name != replica.placement.node) {
    return make_error(errc::invalid_argument, "replica '{}' belongs to node '{}', not '{}'", status.replica_name,
                      replica.placement.node, status.node_name);
  }
  const node_entry* node = find_node(status.node_name);
  if (node == nullptr || !node->alive || !replica.assigned) {
    return make_error(errc::invalid_argument, "replica '{}' reported from node '{}', which is not serving it",
                      status.replica_name, status.node_name);
  }
  replica.status = status;
  return ok();
}

const replica_entry* membership::find_replica(const std::string& replica_name) const {
  auto it = replicas_.find(replica_name);
  return it == replicas_.end() ? nullptr : &it->second;
}

const node_entry* membership::find_node(const std::string& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::size_t membership::num_ready() const {
  return static_cast<std::size_t>(std::ranges::count_if(
      replicas_, [](const auto& r) { return r.second.assigned && r.second.status.state == wire::replica_state::ready; }));
}

std::size_t membership::num_alive() const {
  return static_cast<std::size_t>(std::ranges::count_if(nodes_, [](const auto& n) { return n.second.alive; }));
}

}  // namespace troupe::actors
