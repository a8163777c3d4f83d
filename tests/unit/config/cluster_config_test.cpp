// cluster.yaml reading: the repository's file, defaults, flow style, paths, positions of errors.
#include "config/cluster_config.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/config/config_test_support.hpp"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> device_names(const node_config& node) {
  std::vector<std::string> names;
  for (const auto& device : node.devices) names.push_back(device.name());
  return names;
}

TEST(cluster_config, repository_cluster_yaml_describes_the_default_local_cluster) {
  const auto config = load_cluster_config(testing::source_dir() / "cluster.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->head.host, "127.0.0.1");
  EXPECT_EQ(config->head.http_port, 8000);
  EXPECT_EQ(config->head.admin_port, 8001);
  EXPECT_EQ(config->head.transport_port, 8002);
  EXPECT_EQ(config->transport.ucx_tls, "sm,tcp,self");
  ASSERT_EQ(config->nodes.size(), 2U);
  EXPECT_EQ(config->nodes[0].name, "node0");
  EXPECT_EQ(config->nodes[1].name, "node1");
  EXPECT_THAT(device_names(config->nodes[0]), ElementsAre("cpu:0"));
  EXPECT_THAT(device_names(config->nodes[1]), ElementsAre("cpu:0"));
  ASSERT_EQ(config->models.size(), 1U);
  const auto& demo = config->models[0];
  EXPECT_EQ(demo.name, "demo");
  EXPECT_EQ(demo.path, testing::source_dir() / "models/demo");
  EXPECT_EQ(demo.dtype, "float32");
  EXPECT_EQ(demo.parallel.replicas, 2);
  EXPECT_EQ(demo.max_model_len, 2048);
  EXPECT_EQ(demo.kv_cache.block_size, 16);
  EXPECT_EQ(demo.kv_cache.memory_bytes, 256ULL << 20);
  EXPECT_EQ(config->file, testing::source_dir() / "cluster.yaml");

  const auto placements = place_replicas(*config);
  ASSERT_TRUE(placements) << placements.error().message;
  ASSERT_EQ(placements->size(), 2U);
  EXPECT_EQ((*placements)[0].node, "node0");
  EXPECT_EQ((*placements)[1].node, "node1");
}

TEST(cluster_config, absent_optional_keys_take_the_documented_defaults) {
  const auto config =
      parse_cluster_config(testing::minimal_nodes_yaml() + "models:\n  - {name: m, path: /m}\n",
                           "/etc/troupe/cluster.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->name, "troupe");
  EXPECT_EQ(config->head.host, "127.0.0.1");
  EXPECT_EQ(config->head.http_port, 8000);
  EXPECT_EQ(config->head.admin_port, 8001);
  EXPECT_EQ(config->head.transport_port, 8002);
  EXPECT_EQ(config->transport.ucx_tls, "");
  EXPECT_EQ(config->nodes[0].transport_port, 0);
  EXPECT_EQ(config->nodes[0].cpu_threads_per_device, 0);
  EXPECT_EQ(config->nodes[1].line, 3);
  const auto& model = config->models[0];
  EXPECT_EQ(model.dtype, "auto");
  EXPECT_EQ(model.parallel.tp, 1);
  EXPECT_EQ(model.parallel.pp, 1);
  EXPECT_EQ(model.parallel.replicas, 1);
  EXPECT_EQ(model.max_model_len, 0);
  EXPECT_EQ(model.max_num_seqs, 64);
  EXPECT_EQ(model.max_num_batched_tokens, 2048);
  EXPECT_EQ(model.kv_cache.block_size, 16);
  EXPECT_EQ(model.kv_cache.memory_bytes, 1ULL << 30);
  EXPECT_TRUE(model.nodes.empty());
  EXPECT_EQ(model.line, 5);
  EXPECT_FALSE(config->api.keys_file.has_value());
  EXPECT_EQ(config->api.max_queued_requests, 1024);
  EXPECT_EQ(config->api.http_threads, 64);
}

TEST(cluster_config, empty_sections_mean_all_defaults) {
  const auto config =
      parse_cluster_config("cluster:\nhead:\ntransport:\napi:\n" + testing::minimal_nodes_yaml() +
                               "models:\n  - {name: m, path: m}\n",
                           "cluster.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->head.http_port, 8000);
  EXPECT_EQ(config->api.http_threads, 64);
}

TEST(cluster_config, flow_style_reads_the_same_as_block_style) {
  const std::string block =
      "cluster:\n  name: c\n"
      "head:\n  host: 10.0.0.1\n  http_port: 9000\n  admin_port: 9001\n  transport_port: 9002\n"
      "transport:\n  ucx_tls: tcp\n"
      "nodes:\n  - name: gpu-a\n    host: 10.0.0.11\n    transport_port: 7000\n    devices: "
      "cuda:0-3,6\n"
      "    cpu_threads_per_device: 4\n"
      "models:\n  - name: llama\n    path: weights/llama\n    dtype: bfloat16\n"
      "    parallel:\n      tp: 2\n      pp: 1\n      replicas: 2\n"
      "    max_model_len: 4096\n    max_num_seqs: 8\n    max_num_batched_tokens: 512\n"
      "    kv_cache:\n      block_size: 32\n      memory: 2GB\n    nodes:\n      - gpu-a\n"
      "api:\n  keys_file: keys.txt\n  max_queued_requests: 10\n  http_threads: 3\n";
  const std::string flow =
      "{cluster: {name: c}, head: {host: 10.0.0.1, http_port: 9000, admin_port: 9001, "
      "transport_port: 9002},"
      " transport: {ucx_tls: tcp},"
      " nodes: [{name: gpu-a, host: 10.0.0.11, transport_port: 7000, devices: 'cuda:0-3,6', "
      "cpu_threads_per_device: 4}],"
      " models: [{name: llama, path: weights/llama, dtype: bfloat16, parallel: {tp: 2, pp: 1, "
      "replicas: 2},"
      " max_model_len: 4096, max_num_seqs: 8, max_num_batched_tokens: 512,"
      " kv_cache: {block_size: 32, memory: 2GB}, nodes: [gpu-a]}],"
      " api: {keys_file: keys.txt, max_queued_requests: 10, http_threads: 3}}";
  for (const std::string& text : {block, flow}) {
    const auto config = parse_cluster_config(text, "/srv/c/cluster.yaml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->name, "c");
    EXPECT_EQ(config->head.host, "10.0.0.1");
    EXPECT_EQ(config->head.transport_port, 9002);
    EXPECT_EQ(config->transport.ucx_tls, "tcp");
    ASSERT_EQ(config->nodes.size(), 1U);
    EXPECT_EQ(config->nodes[0].transport_port, 7000);
    EXPECT_THAT(device_names(config->nodes[0]),
                ElementsAre("cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:6"));
    EXPECT_EQ(config->nodes[0].cpu_threads_per_device, 4);
    const auto& model = config->models.at(0);
    EXPECT_EQ(model.path, "/srv/c/weights/llama");
    EXPECT_EQ(model.dtype, "bfloat16");
    EXPECT_EQ(model.parallel.tp, 2);
    EXPECT_EQ(model.parallel.replicas, 2);
    EXPECT_EQ(model.max_model_len, 4096);
    EXPECT_EQ(model.max_num_seqs, 8);
    EXPECT_EQ(model.max_num_batched_tokens, 512);
    EXPECT_EQ(model.kv_cache.block_size, 32);
    EXPECT_EQ(model.kv_cache.memory_bytes, 2'000'000'000ULL);
    EXPECT_THAT(model.nodes, ElementsAre("gpu-a"));
    EXPECT_EQ(config->api.keys_file, std::filesystem::path("/srv/c/keys.txt"));
    EXPECT_EQ(config->api.max_queued_requests, 10);
    EXPECT_EQ(config->api.http_threads, 3);
  }
}

TEST(cluster_config, absolute_paths_are_kept_and_relative_ones_follow_the_yaml_folder) {
  const auto config = parse_cluster_config(
      testing::minimal_nodes_yaml() +
          "models:\n  - {name: a, path: /models/a}\n  - {name: b, path: ../b}\n"
          "api: {keys_file: /etc/keys}\n",
      "/srv/cluster/cluster.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->models[0].path, "/models/a");
  EXPECT_EQ(config->models[1].path, "/srv/b");
  EXPECT_EQ(config->api.keys_file, std::filesystem::path("/etc/keys"));
}

TEST(cluster_config, errors_give_one_based_line_and_column_and_the_key_path) {
  const auto config =
      parse_cluster_config(testing::minimal_nodes_yaml() +
                               "models:\n  - name: m\n    path: m\n    parallel:\n      tpp: 2\n",
                           "cluster.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, errc::invalid_argument);
  EXPECT_EQ(
      config.error().message,
      "cluster.yaml:8:7: models[0].parallel.tpp: unknown key (expected one of tp, pp, replicas)");
}

TEST(cluster_config, a_missing_key_points_at_its_parent_mapping) {
  const auto config = parse_cluster_config(
      testing::minimal_nodes_yaml() + "models:\n  - name: m\n    dtype: auto\n", "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message, "c.yaml:5:5: models[0]: missing required key 'path'");
}

TEST(cluster_config, yaml_syntax_errors_are_parse_errors_with_a_position) {
  const auto config = parse_cluster_config("nodes: [a, b\nmodels: []\n", "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, errc::parse_error);
  EXPECT_THAT(config.error().message, HasSubstr("c.yaml:2:"));
  EXPECT_THAT(config.error().message, HasSubstr("invalid YAML"));
}

TEST(cluster_config, localhost_and_127_0_0_1_are_the_same_host_for_port_clashes) {
  const auto config = parse_cluster_config(
      "head: {host: localhost}\nnodes:\n  - {name: n, host: 127.0.0.1, transport_port: 8001, "
      "devices: 'cpu:1'}\n"
      "models: [{name: m, path: m}]\n",
      "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().message,
            "c.yaml:3:48: nodes[0].transport_port: port 8001 on host 127.0.0.1 is already used by "
            "head.admin_port");
}

TEST(cluster_config, the_same_port_on_different_hosts_is_fine) {
  const auto config = parse_cluster_config(
      "nodes:\n  - {name: a, host: 10.0.0.1, transport_port: 8002, devices: 'cpu:1'}\n"
      "  - {name: b, host: 10.0.0.2, transport_port: 8002, devices: 'cpu:1'}\nmodels: [{name: m, "
      "path: m}]\n",
      "c.yaml");
  EXPECT_TRUE(config) << config.error().message;
}

TEST(cluster_config, an_impossible_placement_fails_at_load_naming_the_model_and_its_line) {
  const auto config =
      parse_cluster_config(testing::minimal_nodes_yaml() +
                               "models:\n  - name: big\n    path: m\n    parallel: {replicas: 3}\n",
                           "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message,
              HasSubstr("c.yaml:7:15: models[0].parallel: placement impossible: model big "
                        "needs 3 replicas x 1 devices"));
  EXPECT_THAT(config.error().message, HasSubstr("only 2 fit"));
}

TEST(cluster_config, sections_may_come_in_any_order) {
  const auto config = parse_cluster_config(
      "models: [{name: m, path: m, nodes: [node1]}]\napi: {http_threads: 2}\n" +
          testing::minimal_nodes_yaml(),
      "c");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_THAT(config->models[0].nodes, ElementsAre("node1"));
}

TEST(cluster_config, deeply_nested_yaml_is_an_error_not_a_crash) {
  const std::string text = "nodes: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  const auto config = parse_cluster_config(text, "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message, HasSubstr("c.yaml:"));
}

TEST(cluster_config, long_values_are_cut_in_messages) {
  const auto config =
      parse_cluster_config("head: {http_port: " + std::string(10000, '9') + "}\n" +
                               testing::minimal_nodes_yaml() + "models: [{name: m, path: m}]\n",
                           "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_LT(config.error().message.size(), 200U);
  EXPECT_THAT(config.error().message, HasSubstr("...\""));
}

TEST(cluster_config, an_empty_node_entry_names_its_missing_keys) {
  const auto config = parse_cluster_config("nodes:\n  -\nmodels: [{name: m, path: m}]\n", "c.yaml");
  ASSERT_FALSE(config);
  EXPECT_THAT(config.error().message, HasSubstr("nodes[0]: missing required key 'name'"));
}

TEST(cluster_config, load_reports_a_missing_file_as_not_found) {
  const auto config = load_cluster_config("/nonexistent/troupe/cluster.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, errc::not_found);
  EXPECT_THAT(config.error().message, HasSubstr("/nonexistent/troupe/cluster.yaml"));
}

TEST(cluster_config, load_reads_the_file_it_is_given) {
  const auto file = std::filesystem::temp_directory_path() / "troupe_config_test_cluster.yaml";
  {
    std::ofstream out(file);
    out << testing::minimal_nodes_yaml() << "models: [{name: m, path: weights}]\n";
  }
  const auto config = load_cluster_config(file);
  std::filesystem::remove(file);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->file, file);
  EXPECT_EQ(config->models[0].path, file.parent_path() / "weights");
}

TEST(cluster_config, find_node_finds_declared_nodes_only) {
  const auto config =
      parse_cluster_config(testing::minimal_nodes_yaml() + "models: [{name: m, path: m}]\n", "c");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_NE(config->find_node("node1"), nullptr);
  EXPECT_EQ(config->find_node("node1")->name, "node1");
  EXPECT_EQ(config->find_node("node2"), nullptr);
}

}  // namespace
}  // namespace troupe
