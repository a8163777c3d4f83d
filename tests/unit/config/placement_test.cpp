// place_replicas: round-robin spread, device exhaustion, node restriction.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cluster_config.hpp"
#include "config/config_values.hpp"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

node_config make_node(std::string name, std::string_view devices) {
  return node_config{
      .name = std::move(name), .host = "127.0.0.1", .devices = parse_devices(devices).value()};
}

model_deployment_config make_model(std::string name, parallel_config parallel,
                                   std::vector<std::string> nodes = {}) {
  return model_deployment_config{
      .name = std::move(name), .path = "m", .parallel = parallel, .nodes = std::move(nodes)};
}

// "model#i@node:dev,dev" for compact comparisons.
std::vector<std::string> summary(const result<std::vector<replica_placement>>& placements) {
  std::vector<std::string> out;
  for (const auto& p : placements.value()) {
    std::string devices;
    for (const auto& d : p.devices) devices += (devices.empty() ? "" : ",") + d;
    out.push_back(p.replica_name + "@" + p.node + ":" + devices);
  }
  return out;
}

TEST(place_replicas, spreads_replicas_round_robin_across_nodes) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:2"), make_node("b", "cpu:2"), make_node("c", "cpu:2")};
  config.models = {make_model("m", {.replicas = 4})};
  const auto placements = place_replicas(config);
  ASSERT_TRUE(placements) << placements.error().message;
  EXPECT_THAT(summary(placements),
              ElementsAre("m#0@a:cpu:0", "m#1@b:cpu:0", "m#2@c:cpu:0", "m#3@a:cpu:1"));
  EXPECT_EQ((*placements)[3].model, "m");
  EXPECT_EQ((*placements)[3].replica_index, 3);
}

TEST(place_replicas, models_share_the_cursor_so_they_land_on_different_nodes) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:2"), make_node("b", "cpu:2")};
  config.models = {make_model("x", {}), make_model("y", {})};
  EXPECT_THAT(summary(place_replicas(config)), ElementsAre("x#0@a:cpu:0", "y#0@b:cpu:0"));
}

TEST(place_replicas, gives_each_replica_tp_times_pp_devices_of_one_node) {
  cluster_config config;
  config.nodes = {make_node("g", "cuda:0-3"), make_node("h", "cuda:4,6")};
  config.models = {make_model("big", {.tp = 2, .pp = 2}), make_model("small", {.tp = 2})};
  EXPECT_THAT(summary(place_replicas(config)),
              ElementsAre("big#0@g:cuda:0,cuda:1,cuda:2,cuda:3", "small#0@h:cuda:4,cuda:6"));
}

TEST(place_replicas, skips_nodes_without_enough_free_devices) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:1"), make_node("b", "cpu:2")};
  config.models = {make_model("m", {.tp = 2})};
  EXPECT_THAT(summary(place_replicas(config)), ElementsAre("m#0@b:cpu:0,cpu:1"));
}

TEST(place_replicas, uses_each_device_once_and_reports_exhaustion_with_counts) {
  cluster_config config;
  config.nodes = {make_node("node0", "cpu:1"), make_node("node1", "cpu:1")};
  config.models = {make_model("a", {}), make_model("demo", {.replicas = 2})};
  const auto placements = place_replicas(config);
  ASSERT_FALSE(placements);
  EXPECT_EQ(placements.error().code, errc::invalid_argument);
  EXPECT_THAT(placements.error().message,
              HasSubstr("model demo needs 2 replicas x 1 devices (tp 1 x pp 1) with each replica "
                        "on one node, but "
                        "only 1 fit; free devices before placing it: node0 0, node1 1"));
}

TEST(place_replicas, says_multi_node_replicas_are_not_supported_when_no_node_is_big_enough) {
  cluster_config config;
  config.nodes = {make_node("a", "cuda:0-3"), make_node("b", "cuda:0-3")};
  config.models = {make_model("huge", {.tp = 4, .pp = 2})};
  const auto placements = place_replicas(config);
  ASSERT_FALSE(placements);
  EXPECT_THAT(placements.error().message,
              HasSubstr("model huge needs 8 devices per replica (tp 4 x pp 2)"));
  EXPECT_THAT(placements.error().message, HasSubstr("the largest of nodes a, b has 4"));
  EXPECT_THAT(placements.error().message, HasSubstr("multi-node replicas come with a later issue"));
}

TEST(place_replicas, keeps_a_model_on_its_listed_nodes) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:2"), make_node("b", "cpu:2"), make_node("c", "cpu:2")};
  config.models = {make_model("m", {.replicas = 3}, {"c", "a"})};
  EXPECT_THAT(summary(place_replicas(config)),
              ElementsAre("m#0@a:cpu:0", "m#1@c:cpu:0", "m#2@a:cpu:1"));
}

TEST(place_replicas, restricts_placement_to_the_available_nodes) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:1"), make_node("b", "cpu:1"), make_node("c", "cpu:1")};
  config.models = {make_model("m", {.replicas = 2})};
  EXPECT_THAT(summary(place_replicas(config, {"c", "b"})),
              ElementsAre("m#0@b:cpu:0", "m#1@c:cpu:0"));

  const auto too_few = place_replicas(config, {"b"});
  ASSERT_FALSE(too_few);
  EXPECT_THAT(too_few.error().message,
              HasSubstr("only 1 fit; free devices before placing it: b 1"));
}

TEST(place_replicas, fails_when_none_of_a_models_nodes_is_available) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:1"), make_node("b", "cpu:1")};
  config.models = {make_model("m", {}, {"a"})};
  const auto placements = place_replicas(config, {"b"});
  ASSERT_FALSE(placements);
  EXPECT_THAT(placements.error().message,
              HasSubstr("model m may use nodes a, none of which is available"));
}

TEST(place_replicas, rejects_available_nodes_that_are_not_in_the_config) {
  cluster_config config;
  config.nodes = {make_node("a", "cpu:1")};
  config.models = {make_model("m", {})};
  const auto placements = place_replicas(config, {"a", "zz"});
  ASSERT_FALSE(placements);
  EXPECT_THAT(placements.error().message,
              HasSubstr("available node zz is not a node of cluster troupe"));
}

TEST(place_replicas, is_deterministic) {
  cluster_config config;
  config.nodes = {make_node("a", "cuda:0-7"), make_node("b", "cuda:0-7")};
  config.models = {make_model("x", {.tp = 2, .replicas = 3}),
                   make_model("y", {.tp = 4, .replicas = 2})};
  const auto first = summary(place_replicas(config));
  EXPECT_EQ(first, summary(place_replicas(config)));
  EXPECT_THAT(
      first, ElementsAre("x#0@a:cuda:0,cuda:1", "x#1@b:cuda:0,cuda:1", "x#2@a:cuda:2,cuda:3",
                         "y#0@b:cuda:2,cuda:3,cuda:4,cuda:5", "y#1@a:cuda:4,cuda:5,cuda:6,cuda:7"));
}

}  // namespace
}  // namespace troupe
