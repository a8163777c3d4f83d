// The coordinator's bookkeeping: joins, heartbeats, failure, placement hand-out, status checks.
#include "actors/membership.hpp"

#include <gtest/gtest.h>

namespace troupe::actors {
namespace {

using namespace std::chrono_literals;

cluster_config two_nodes() {
  result<cluster_config> c = parse_cluster_config(R"(
cluster: {name: t}
head: {host: 127.0.0.1, http_port: 18000, admin_port: 18001, transport_port: 18002}
nodes:
  - {name: node0, host: 127.0.0.1, devices: "cpu:1"}
  - {name: node1, host: 127.0.0.1, devices: "cpu:1"}
models:
  - {name: demo, path: models/demo, parallel: {replicas: 2}}
)",
                                                  "test.yaml");
  EXPECT_TRUE(c) << c.error().message;
  return std::move(c).value();
}

wire::join_request join_of(const std::string& node) {
  return wire::join_request{.node_name = node, .transport_address = "127.0.0.1:1", .pid = 42,
                            .devices = {wire::device_info{.name = "cpu:0", .kind = wire::device_kind::cpu, .memory_bytes = 1, .num_threads = 1}}};
}

struct fixture {
  cluster_config config = two_nodes();
  membership members{config, place_replicas(config).value()};
};

TEST(membership, hands_out_each_nodes_replicas_once_per_join) {
  fixture f;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.members.join(join_of("node0"), t0));
  std::vector<replica_placement> first = f.members.take_unassigned("node0");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].node, "node0");
  EXPECT_TRUE(f.members.take_unassigned("node0").empty());
  EXPECT_TRUE(f.members.take_unassigned("node1").empty());  // not joined yet
}

TEST(membership, refuses_unknown_and_duplicate_nodes) {
  fixture f;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(f.members.join(join_of("node9"), t0).error().message.find("node 'node9' is not in test.yaml"), std::string::npos);
  ASSERT_TRUE(f.members.join(join_of("node0"), t0));
  EXPECT_NE(f.members.join(join_of("node0"), t0).error().message.find("already joined"), std::string::npos);
  wire::join_request missing = join_of("node1");
  missing.devices.clear();
  EXPECT_NE(f.members.join(missing, t0).error().message.find("without device cpu:0"), std::string::npos);
}

TEST(membership, silent_nodes_expire_and_take_their_replicas_with_them) {
  fixture f;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.members.join(join_of("node0"), t0));
  ASSERT_TRUE(f.members.join(join_of("node1"), t0));
  f.members.take_unassigned("node0");
  f.members.take_unassigned("node1");
  EXPECT_TRUE(f.members.heard_from("node0", t0 + 1000ms));
  EXPECT_EQ(f.members.expire(t0 + 1200ms, 1000ms), std::vector<std::string>{"node1"});
  const std::vector<std::string> gone = f.members.fail("node1");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(f.members.find_replica(gone[0])->placement.node, "node1");
  EXPECT_FALSE(f.members.heard_from("node1", t0 + 1300ms));  // a dead node is not revived by a late heartbeat
  EXPECT_TRUE(f.members.fail("node1").empty());
  EXPECT_EQ(f.members.num_alive(), 1u);
  // It may come back: its replica is handed out again.
  ASSERT_TRUE(f.members.join(join_of("node1"), t0 + 2000ms));
  EXPECT_EQ(f.members.take_unassigned("node1").size(), 1u);
}

TEST(membership, accepts_status_only_from_the_replicas_node) {
  fixture f;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(f.members.join(join_of("node0"), t0));
  const std::string name = f.members.take_unassigned("node0").at(0).replica_name;
  wire::replica_status s{.replica_name = name, .node_name = "node1", .leader_actor = "node1/leader/x",
                         .state = wire::replica_state::ready, .message = {}, .num_kv_blocks = 1, .max_model_len = 64};
  EXPECT_FALSE(f.members.update(s));
  s.node_name = "node0";
  EXPECT_TRUE(f.members.update(s));
  EXPECT_EQ(f.members.num_ready(), 1u);
  s.replica_name = "nope#3";
  EXPECT_FALSE(f.members.update(s));
}

}  // namespace
}  // namespace troupe::actors
