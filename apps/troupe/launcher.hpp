// `troupe up` / `troupe down`: starts the head and the nodes of a cluster.yaml (local processes
// for hosts that are this machine, ssh for the others), with one log per process in the run
// directory, waits until the head logs that every replica is ready, and stops everything when a
// process fails before that. The run directory also records the process ids for `troupe down`.
#pragma once

#include <filesystem>
#include <string>

#include "config/cluster_config.hpp"

namespace troupe::cli {

struct launch_options {
  std::string config_file = "cluster.yaml";
  bool detach = false;
  std::string run_dir;               // empty: <folder of cluster.yaml>/.troupe/<cluster name>
  int ready_timeout_s = 600;
  std::string remote_binary = "troupe";
};

int cluster_up(const cluster_config& config, const launch_options& options);
int cluster_down(const cluster_config& config, const launch_options& options);

// True for addresses of this machine (loopback, its host name, its interfaces' addresses).
bool is_local_host(const std::string& host);

}  // namespace troupe::cli
