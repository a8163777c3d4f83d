// Internal to troupe_config: the sections of cluster.yaml read into cluster_config, with the checks
// that need positions (unique names, port clashes, node references) done while reading.
#pragma once

#include <filesystem>
#include <vector>

#include "config/cluster_config.hpp"
#include "config/yaml_map.hpp"

namespace troupe::config_detail {

struct parsed_document {
  cluster_config config;
  // Per model, where a placement failure points: its `parallel` mapping, or the model when absent.
  std::vector<yaml_value> model_anchors;
};

// Reads the document root (a mapping) into a cluster_config; relative paths resolve against
// `base_dir`. Placement is not checked here.
result<parsed_document> read_document(const yaml_source& source, const YAML::Node& root,
                                      const std::filesystem::path& base_dir);

}  // namespace troupe::config_detail
