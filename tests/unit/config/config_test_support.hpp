// Helpers shared by the config tests.
#pragma once

#include <filesystem>
#include <string>

namespace troupe::testing {

inline std::filesystem::path source_dir() {
  return TROUPE_SOURCE_DIR;
}

// A valid two-node cluster.yaml body after which a test appends or replaces sections.
inline std::string minimal_nodes_yaml() {
  return "nodes:\n"
         "  - {name: node0, host: 127.0.0.1, devices: \"cpu:1\"}\n"
         "  - {name: node1, host: 127.0.0.1, devices: \"cpu:1\"}\n";
}

}  // namespace troupe::testing
