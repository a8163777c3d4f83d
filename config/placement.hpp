// Internal to troupe_config: place_replicas with the index of the model that did not fit, so that
// load_cluster_config can point at that model's line.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace troupe::config_detail {

// As place_replicas; on failure `*failed_model` is the index in config.models of the model that did
// not fit, or config.models.size() when the failure is not about one model (an unknown node name in
// available_nodes).
result<std::vector<replica_placement>> place_replicas_of(
    const cluster_config& config, const std::vector<std::string>& available_nodes,
    std::size_t* failed_model);

}  // namespace troupe::config_detail
