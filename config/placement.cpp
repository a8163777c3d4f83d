// Replica placement: round-robin over nodes in config order, one cursor shared by all models so
// that replicas (of one model and of different models) spread across nodes.
//
//   nodes: node0 [cpu:0 cpu:1]   node1 [cpu:0 cpu:1]
//   model a (tp 1, replicas 3): a#0 -> node0 cpu:0, a#1 -> node1 cpu:0, a#2 -> node0 cpu:1
//   model b (tp 1, replicas 1): the cursor is at node1 -> b#0 -> node1 cpu:1
//
// A replica's tp*pp devices are the first free devices of one node, in the order the node lists
// them.
#include "config/placement.hpp"

#include <algorithm>

#include <fmt/ranges.h>

namespace troupe {
namespace config_detail {
namespace {

struct node_slots {
  const node_config* node = nullptr;
  std::vector<bool> used;  // per node->devices entry
  std::int32_t num_free() const {
    return static_cast<std::int32_t>(std::count(used.begin(), used.end(), false));
  }
};

bool allows(const model_deployment_config& model, const node_config& node) {
  return model.nodes.empty() ||
         std::find(model.nodes.begin(), model.nodes.end(), node.name) != model.nodes.end();
}

std::string free_summary(const std::vector<node_slots>& slots,
                         const model_deployment_config& model) {
  std::string out;
  for (const auto& slot : slots) {
    if (!allows(model, *slot.node)) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", slot.node->name, slot.num_free());
  }
  return out.empty() ? "none" : out;
}

// Places all replicas of `model`, moving `cursor` past each node used.
status place_model(const model_deployment_config& model, std::vector<node_slots>& slots,
                   std::size_t& cursor, std::vector<replica_placement>& out) {
  const std::int32_t per_replica = model.parallel.tp * model.parallel.pp;
  std::int32_t largest = 0;
  std::string allowed_names;
  for (const auto& slot : slots) {
    if (!allows(model, *slot.node)) continue;
    largest = std::max(largest, static_cast<std::int32_t>(slot.node->devices.size()));
    allowed_names += fmt::format("{}{}", allowed_names.empty() ? "" : ", ", slot.node->name);
  }
  if (allowed_names.empty()) {
    return make_error(errc::invalid_argument,
                      "model {} may use nodes {}, none of which is available", model.name,
                      fmt::join(model.nodes, ", "));
  }
  if (per_replica > largest) {
    return make_error(
        errc::invalid_argument,
        "model {} needs {} devices per replica (tp {} x pp {}) on one node, but the largest of "
        "nodes "
        "{} has {}; replicas spanning nodes are not supported yet (multi-node replicas come with a "
        "later issue)",
        model.name, per_replica, model.parallel.tp, model.parallel.pp, allowed_names, largest);
  }
  const std::string free_before = free_summary(slots, model);
  for (std::int32_t replica = 0; replica < model.parallel.replicas; ++replica) {
    std::size_t step = 0;
    for (; step < slots.size(); ++step) {
      const node_slots& slot = slots[(cursor + step) % slots.size()];
      if (allows(model, *slot.node) && slot.num_free() >= per_replica) break;
    }
    if (step == slots.size()) {
      return make_error(
          errc::invalid_argument,
          "model {} needs {} replicas x {} devices (tp {} x pp {}) with each replica on one node, "
          "but only {} fit; free devices before placing it: {}",
          model.name, model.parallel.replicas, per_replica, model.parallel.tp, model.parallel.pp,
          replica, free_before);
    }
    node_slots& slot = slots[(cursor + step) % slots.size()];
    replica_placement placement{.model = model.name,
                                .replica_index = replica,
                                .replica_name = fmt::format("{}#{}", model.name, replica),
                                .node = slot.node->name};
    for (std::size_t i = 0; i < slot.used.size() && std::ssize(placement.devices) < per_replica;
         ++i) {
      if (slot.used[i]) continue;
      slot.used[i] = true;
      placement.devices.push_back(slot.node->devices[i].name());
    }
    out.push_back(std::move(placement));
    cursor = (cursor + step + 1) % slots.size();
  }
  return ok();
}

}  // namespace

result<std::vector<replica_placement>> place_replicas_of(
    const cluster_config& config, const std::vector<std::string>& available_nodes,
    std::size_t* failed_model) {
  *failed_model = config.models.size();
  for (const auto& name : available_nodes) {
    if (!config.find_node(name)) {
      return make_error(errc::invalid_argument, "available node {} is not a node of cluster {}",
                        name, config.name);
    }
  }
  std::vector<node_slots> slots;
  for (const auto& node : config.nodes) {
    if (!available_nodes.empty() && std::find(available_nodes.begin(), available_nodes.end(),
                                              node.name) == available_nodes.end()) {
      continue;
    }
    slots.push_back({&node, std::vector<bool>(node.devices.size(), false)});
  }
  std::vector<replica_placement> placements;
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < config.models.size(); ++i) {
    if (slots.empty()) {
      *failed_model = i;
      return make_error(errc::invalid_argument, "model {} cannot be placed: no nodes are available",
                        config.models[i].name);
    }
    if (auto placed = place_model(config.models[i], slots, cursor, placements); !placed) {
      *failed_model = i;
      return std::move(placed).error();
    }
  }
  return placements;
}

}  // namespace config_detail

result<std::vector<replica_placement>> place_replicas(
    const cluster_config& config, const std::vector<std::string>& available_nodes) {
  std::size_t failed_model = 0;
  return config_detail::place_replicas_of(config, available_nodes, &failed_model);
}

}  // namespace troupe
