// cluster.yaml as plain structs (ARCHITECTURE.md section 8), parsed with yaml-cpp and validated
// once. Every error names the file, line and column (1-based) of the offending node and what was
// expected: "cluster.yaml:7:24: nodes[1].devices: expected a device list such as \"cpu:1\" or
// \"cuda:0-7\", got \"gpu\"".
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"

namespace troupe {

struct device_spec {
  std::string kind;   // "cpu" or "cuda"
  std::int32_t index = 0;
  std::string name() const;  // "cpu:0", "cuda:3"
};

struct head_config {
  std::string host = "127.0.0.1";
  std::uint16_t http_port = 8000;
  std::uint16_t admin_port = 8001;
  std::uint16_t transport_port = 8002;  // the head's UCX listener (nodes connect here)
};

struct transport_config {
  std::string ucx_tls;  // empty = UCX picks
};

struct node_config {
  std::string name;
  std::string host;
  std::uint16_t transport_port = 0;  // 0 = ephemeral (reported at join)
  std::vector<device_spec> devices;  // "cpu:2" = two CPU devices cpu:0, cpu:1; "cuda:0-7"; "cuda:0,2"
  std::int32_t cpu_threads_per_device = 0;  // 0 = hardware threads / number of cpu devices
  std::int32_t line = 0;  // where the node is declared (1-based), for later errors
};

struct parallel_config {
  std::int32_t tp = 1;
  std::int32_t pp = 1;
  std::int32_t replicas = 1;
};

struct kv_cache_config {
  std::int32_t block_size = 16;
  // KV cache memory of each replica: "1GiB", "512MiB", "2GB", or a plain byte count.
  std::uint64_t memory_bytes = 1ULL << 30;
};

struct model_deployment_config {
  std::string name;
  std::filesystem::path path;   // relative paths are relative to the cluster.yaml's folder
  std::string dtype = "auto";   // auto | float32 | bfloat16 | float16
  parallel_config parallel;
  std::int32_t max_model_len = 0;  // 0 = model/KV limit
  std::int32_t max_num_seqs = 64;
  std::int32_t max_num_batched_tokens = 2048;
  kv_cache_config kv_cache;
  std::vector<std::string> nodes;  // optional: restrict placement to these nodes
  std::int32_t line = 0;
};

struct api_config {
  std::optional<std::filesystem::path> keys_file;  // one API key per line; absent = no auth
  std::int32_t max_queued_requests = 1024;          // admission bound per model (429 beyond)
  std::int32_t http_threads = 64;
};

struct cluster_config {
  std::string name = "troupe";
  std::filesystem::path file;       // the cluster.yaml it was read from
  head_config head;
  transport_config transport;
  std::vector<node_config> nodes;
  std::vector<model_deployment_config> models;
  api_config api;

  const node_config* find_node(std::string_view name) const;
};

// Reads and validates a cluster.yaml. Errors (errc::parse_error / errc::invalid_argument) name
// "file:line:col" and the key path.
result<cluster_config> load_cluster_config(const std::filesystem::path& file);
// The same from text; `file_name` is used in messages and to resolve relative paths.
result<cluster_config> parse_cluster_config(std::string_view yaml_text, const std::filesystem::path& file_name);

// One replica placed on devices: which node, which devices, in rank order.
struct replica_placement {
  std::string model;          // model_deployment_config::name
  std::int32_t replica_index = 0;
  std::string replica_name;   // "<model>#<index>"
  std::string node;           // node of rank 0 (the replica leader's node)
  std::vector<std::string> devices;  // device names on `node` (tp*pp of them; all on one node in issue 3)
};

// Assigns every replica of every model to free devices of the given nodes (each device serves at
// most one replica; a replica's tp*pp devices all on one node for now). `available_nodes` limits
// placement to the nodes that have joined (all nodes of the config when empty). Errors name the
// model and why it does not fit ("model demo needs 3 replicas x 1 devices, only 2 cpu devices free
// on nodes node0, node1").
result<std::vector<replica_placement>> place_replicas(const cluster_config& config,
                                                      const std::vector<std::string>& available_nodes = {});

}  // namespace troupe
