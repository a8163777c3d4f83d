// The two long-running troupe processes, assembled from actors, transport and api. apps/troupe
// parses flags and calls these; each returns the process's exit code (0 after SIGINT/SIGTERM,
// 1 on a runtime failure, 2 on bad configuration).
#pragma once

#include <string>

#include <caf/actor_system_config.hpp>

#include "config/cluster_config.hpp"

namespace troupe::actors {

// `troupe head`: coordinator, router, one deployment per model, the OpenAI HTTP API. Logs
// "troupe: ready ..." once every replica of the cluster is ready (troupe up waits for that line).
int run_head(const cluster_config& config);

// `troupe node --name NODE`: joins the head, then runs the replicas the coordinator assigns.
int run_node(const cluster_config& config, const std::string& node_name);

// Logs as "[time] [process] [level] message" on stderr.
void setup_logging(const std::string& process_name);

}  // namespace troupe::actors

namespace troupe::actors {

// CAF settings of every troupe process. The scheduler is CAF's "sharing" policy: idle threads
// sleep on a condition variable and wake when a message arrives. CAF's default work stealing
// polls, then sleeps in fixed 50 us steps without being woken, which added about 50-100 us per
// actor hop to every control message here (bench/cluster/gateway_bench.cpp).
void configure_caf(caf::actor_system_config& config);

}  // namespace troupe::actors
