#include "config/cluster_sections.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <fmt/ranges.h>

#include "config/config_values.hpp"

namespace troupe::config_detail {
namespace {

constexpr std::int64_t max_port = std::numeric_limits<std::uint16_t>::max();
constexpr std::int64_t max_num_tokens = std::int64_t{1} << 24;
constexpr std::array<std::string_view, 4> dtypes{"auto", "float32", "bfloat16", "float16"};

// A port in use on a host, and which key claimed it.
struct port_claim {
  std::string host;
  std::uint16_t port = 0;
  std::string owner;  // key path, e.g. "head.admin_port"
};

// Hosts compare literally, except that localhost is 127.0.0.1.
std::string_view canonical_host(std::string_view host) {
  return host == "localhost" ? "127.0.0.1" : host;
}

const port_claim* find_claim(const std::vector<port_claim>& claims, std::string_view host,
                             std::uint16_t port) {
  for (const auto& claim : claims) {
    if (claim.port == port && canonical_host(claim.host) == canonical_host(host)) return &claim;
  }
  return nullptr;
}

// Names of nodes and models: used in URLs, logs and "<model>#<replica>", so no spaces and no '#'.
bool is_valid_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("-_./:@").find(c) != std::string_view::npos;
  });
}

result<std::string> read_name(const yaml_source& source, const yaml_map& map) {
  TROUPE_ASSIGN_OR_RETURN(const yaml_value value, map.require("name"));
  TROUPE_ASSIGN_OR_RETURN(std::string name, read_string(source, value));
  if (!is_valid_name(name)) {
    return source.error_at(value,
                           fmt::format("expected a name of letters, digits and - _ . / : @, got {}",
                                       quote_for_message(name)));
  }
  return name;
}

status read_cluster(const yaml_source& source, const yaml_value& value, cluster_config& config) {
  TROUPE_ASSIGN_OR_RETURN(const yaml_map map, yaml_map::open(source, value, {"name"}));
  if (const auto name = map.find("name")) {
    TROUPE_ASSIGN_OR_RETURN(config.name, read_string(source, *name));
  }
  return ok();
}

// Reads head and returns the ports it claims.
result<std::vector<port_claim>> read_head(const yaml_source& source, const yaml_value& value,
                                          head_config& head) {
  TROUPE_ASSIGN_OR_RETURN(
      const yaml_map map,
      yaml_map::open(source, value, {"host", "http_port", "admin_port", "transport_port"}));
  TROUPE_RETURN_IF_ERROR(map.read_string("host", head.host));
  std::vector<port_claim> claims;
  const std::array<std::pair<std::string_view, std::uint16_t*>, 3> ports{
      {{"http_port", &head.http_port},
       {"admin_port", &head.admin_port},
       {"transport_port", &head.transport_port}}};
  for (const auto& [key, port] : ports) {
    TROUPE_RETURN_IF_ERROR(map.read_integer(key, 1, max_port, *port));
    const std::string owner = child_path("head", key);
    if (const port_claim* other = find_claim(claims, head.host, *port)) {
      const auto at = map.find(key);
      return source.error_at(at ? at->mark : map.self().mark, owner,
                             fmt::format("port {} is already used by {}", *port, other->owner));
    }
    claims.push_back({head.host, *port, owner});
  }
  return claims;
}

status read_transport(const yaml_source& source, const yaml_value& value,
                      transport_config& transport) {
  TROUPE_ASSIGN_OR_RETURN(const yaml_map map, yaml_map::open(source, value, {"ucx_tls"}));
  return map.read_string("ucx_tls", transport.ucx_tls);
}

result<node_config> read_node(const yaml_source& source, const yaml_value& value,
                              std::vector<port_claim>& claims) {
  TROUPE_ASSIGN_OR_RETURN(
      const yaml_map map,
      yaml_map::open(source, value,
                     {"name", "host", "transport_port", "devices", "cpu_threads_per_device"}));
  node_config node;
  node.line = value.mark.line + 1;
  TROUPE_ASSIGN_OR_RETURN(node.name, read_name(source, map));
  TROUPE_ASSIGN_OR_RETURN(const yaml_value host, map.require("host"));
  TROUPE_ASSIGN_OR_RETURN(node.host, read_string(source, host));
  TROUPE_ASSIGN_OR_RETURN(const yaml_value devices, map.require("devices"));
  TROUPE_ASSIGN_OR_RETURN(node.devices, read_devices(source, devices));
  TROUPE_RETURN_IF_ERROR(
      map.read_integer("cpu_threads_per_device", 0, 4096, node.cpu_threads_per_device));
  TROUPE_RETURN_IF_ERROR(map.read_integer("transport_port", 0, max_port, node.transport_port));
  if (node.transport_port != 0) {  // 0 = ephemeral, never clashes
    const yaml_value port = *map.find("transport_port");
    if (const port_claim* other = find_claim(claims, node.host, node.transport_port)) {
      return source.error_at(port, fmt::format("port {} on host {} is already used by {}",
                                               node.transport_port, node.host, other->owner));
    }
    claims.push_back({node.host, node.transport_port, port.path});
  }
  return node;
}

status read_nodes(const yaml_source& source, const yaml_value& value,
                  std::vector<port_claim> claims, cluster_config& config) {
  TROUPE_ASSIGN_OR_RETURN(const std::vector<yaml_value> items, read_sequence(source, value));
  if (items.empty()) return source.error_at(value, "at least one node is required");
  for (const auto& item : items) {
    TROUPE_ASSIGN_OR_RETURN(node_config node, read_node(source, item, claims));
    if (const node_config* first = config.find_node(node.name)) {
      return source.error_at(
          item, fmt::format("duplicate node name '{}' (first declared on line {})", node.name,
                            first->line));
    }
    config.nodes.push_back(std::move(node));
  }
  return ok();
}

status read_parallel(const yaml_source& source, const yaml_value& value,
                     parallel_config& parallel) {
  TROUPE_ASSIGN_OR_RETURN(const yaml_map map,
                          yaml_map::open(source, value, {"tp", "pp", "replicas"}));
  TROUPE_RETURN_IF_ERROR(map.read_integer("tp", 1, max_num_node_devices, parallel.tp));
  TROUPE_RETURN_IF_ERROR(map.read_integer("pp", 1, max_num_node_devices, parallel.pp));
  return map.read_integer("replicas", 1, max_num_node_devices, parallel.replicas);
}

status read_kv_cache(const yaml_source& source, const yaml_value& value,
                     kv_cache_config& kv_cache) {
  TROUPE_ASSIGN_OR_RETURN(const yaml_map map,
                          yaml_map::open(source, value, {"block_size", "memory"}));
  TROUPE_RETURN_IF_ERROR(map.read_integer("block_size", 1, 1024, kv_cache.block_size));
  return map.read_size("memory", kv_cache.memory_bytes);
}

// model.nodes: names of declared nodes, each once.
status read_model_nodes(const yaml_source& source, const yaml_value& value,
                        const cluster_config& config, std::vector<std::string>& names) {
  TROUPE_ASSIGN_OR_RETURN(const std::vector<yaml_value> items, read_sequence(source, value));
  if (items.empty())
    return source.error_at(value, "an empty list allows no node; leave the key out to allow all");
  for (const auto& item : items) {
    TROUPE_ASSIGN_OR_RETURN(std::string name, read_string(source, item));
    if (!config.find_node(name)) {
      std::vector<std::string_view> known;
      for (const auto& node : config.nodes) known.push_back(node.name);
      return source.error_at(
          item, fmt::format("unknown node '{}' (nodes: {})", name, fmt::join(known, ", ")));
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return source.error_at(item, fmt::format("node '{}' is listed twice", name));
    }
    names.push_back(std::move(name));
  }
  return ok();
}

result<model_deployment_config> read_model(const yaml_source& source, const yaml_value& value,
                                           const std::filesystem::path& base_dir,
                                           const cluster_config& config, yaml_value& anchor) {
  TROUPE_ASSIGN_OR_RETURN(
      const yaml_map map,
      yaml_map::open(source, value,
                     {"name", "path", "dtype", "parallel", "max_model_len", "max_num_seqs",
                      "max_num_batched_tokens", "kv_cache", "nodes"}));
  model_deployment_config model;
  model.line = value.mark.line + 1;
  TROUPE_ASSIGN_OR_RETURN(model.name, read_name(source, map));
  TROUPE_ASSIGN_OR_RETURN(const yaml_value path, map.require("path"));
  TROUPE_ASSIGN_OR_RETURN(const std::string path_text, read_string(source, path));
  model.path = (base_dir / path_text).lexically_normal();
  if (const auto dtype = map.find("dtype")) {
    TROUPE_ASSIGN_OR_RETURN(model.dtype, read_string(source, *dtype));
    if (std::find(dtypes.begin(), dtypes.end(), model.dtype) == dtypes.end()) {
      return source.error_at(*dtype,
                             fmt::format("expected one of {}, got {}", fmt::join(dtypes, ", "),
                                         quote_for_message(model.dtype)));
    }
  }
  anchor = value;
  if (const auto parallel = map.find("parallel")) {
    TROUPE_RETURN_IF_ERROR(read_parallel(source, *parallel, model.parallel));
    anchor = *parallel;
  }
  TROUPE_RETURN_IF_ERROR(map.read_integer("max_model_len", 0, max_num_tokens, model.max_model_len));
  TROUPE_RETURN_IF_ERROR(map.read_integer("max_num_seqs", 1, 65536, model.max_num_seqs));
  TROUPE_RETURN_IF_ERROR(
      map.read_integer("max_num_batched_tokens", 1, max_num_tokens, model.max_num_batched_tokens));
  if (const auto kv_cache = map.find("kv_cache")) {
    TROUPE_RETURN_IF_ERROR(read_kv_cache(source, *kv_cache, model.kv_cache));
  }
  if (const auto nodes = map.find("nodes")) {
    TROUPE_RETURN_IF_ERROR(read_model_nodes(source, *nodes, config, model.nodes));
  }
  return model;
}

status read_models(const yaml_source& source, const yaml_value& value,
                   const std::filesystem::path& base_dir, parsed_document& document) {
  TROUPE_ASSIGN_OR_RETURN(const std::vector<yaml_value> items, read_sequence(source, value));
  if (items.empty()) return source.error_at(value, "at least one model is required");
  auto& models = document.config.models;
  for (const auto& item : items) {
    yaml_value anchor;
    TROUPE_ASSIGN_OR_RETURN(model_deployment_config model,
                            read_model(source, item, base_dir, document.config, anchor));
    const auto first = std::find_if(models.begin(), models.end(),
                                    [&](const auto& m) { return m.name == model.name; });
    if (first != models.end()) {
      return source.error_at(
          item, fmt::format("duplicate model name '{}' (first declared on line {})", model.name,
                            first->line));
    }
    models.push_back(std::move(model));
    document.model_anchors.push_back(std::move(anchor));
  }
  return ok();
}

status read_api(const yaml_source& source, const yaml_value& value,
                const std::filesystem::path& base_dir, api_config& api) {
  TROUPE_ASSIGN_OR_RETURN(
      const yaml_map map,
      yaml_map::open(source, value, {"keys_file", "max_queued_requests", "http_threads"}));
  if (const auto keys_file = map.find("keys_file")) {
    TROUPE_ASSIGN_OR_RETURN(const std::string path, read_string(source, *keys_file));
    api.keys_file = (base_dir / path).lexically_normal();
  }
  TROUPE_RETURN_IF_ERROR(
      map.read_integer("max_queued_requests", 1, 1'000'000, api.max_queued_requests));
  return map.read_integer("http_threads", 1, 4096, api.http_threads);
}

}  // namespace

result<parsed_document> read_document(const yaml_source& source, const YAML::Node& root,
                                      const std::filesystem::path& base_dir) {
  TROUPE_ASSIGN_OR_RETURN(
      const yaml_map map,
      yaml_map::open(source, yaml_value{root, root.Mark(), ""},
                     {"cluster", "head", "transport", "nodes", "models", "api"}));
  parsed_document document;
  cluster_config& config = document.config;
  if (const auto cluster = map.find("cluster"))
    TROUPE_RETURN_IF_ERROR(read_cluster(source, *cluster, config));
  std::vector<port_claim> head_ports{
      {config.head.host, config.head.http_port, "head.http_port"},
      {config.head.host, config.head.admin_port, "head.admin_port"},
      {config.head.host, config.head.transport_port, "head.transport_port"}};
  if (const auto head = map.find("head")) {
    TROUPE_ASSIGN_OR_RETURN(head_ports, read_head(source, *head, config.head));
  }
  if (const auto transport = map.find("transport")) {
    TROUPE_RETURN_IF_ERROR(read_transport(source, *transport, config.transport));
  }
  TROUPE_ASSIGN_OR_RETURN(const yaml_value nodes, map.require("nodes"));
  TROUPE_RETURN_IF_ERROR(read_nodes(source, nodes, std::move(head_ports), config));
  TROUPE_ASSIGN_OR_RETURN(const yaml_value models, map.require("models"));
  TROUPE_RETURN_IF_ERROR(read_models(source, models, base_dir, document));
  if (const auto api = map.find("api"))
    TROUPE_RETURN_IF_ERROR(read_api(source, *api, base_dir, config.api));
  return document;
}

}  // namespace troupe::config_detail
