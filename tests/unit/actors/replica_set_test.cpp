// A deployment's replica choice: least loaded among the ready, and orphans when one goes.
#include "actors/replica_set.hpp"

#include <gtest/gtest.h>

namespace troupe::actors {
namespace {

replica_info ready(const std::string& name) {
  return replica_info{.replica_name = name, .model = "demo", .node = "n", .leader_actor = "n/leader/" + name,
                      .state = wire::replica_state::ready, .message = {}, .max_model_len = 128};
}

TEST(replica_set, spreads_requests_over_the_least_loaded_ready_replicas) {
  replica_set s;
  s.update(ready("demo#0"));
  s.update(ready("demo#1"));
  replica_info loading = ready("demo#2");
  loading.state = wire::replica_state::loading;
  s.update(loading);
  EXPECT_EQ(s.assign(1), "demo#0");
  EXPECT_EQ(s.assign(2), "demo#1");
  EXPECT_EQ(s.assign(3), "demo#0");
  s.finish(1);
  s.finish(3);
  EXPECT_EQ(s.assign(4), "demo#0");  // demo#0 has 0, demo#1 has 1
  EXPECT_EQ(s.num_ready(), 2u);
  EXPECT_EQ(s.max_model_len(), 128);
}

TEST(replica_set, breaks_ties_by_waiting_requests_then_free_blocks) {
  replica_set s;
  s.update(ready("a"));
  s.update(ready("b"));
  s.report_load("a", 3, 100);
  s.report_load("b", 0, 10);
  EXPECT_EQ(s.assign(1), "b");
}

TEST(replica_set, a_removed_replica_returns_its_requests_and_takes_no_more) {
  replica_set s;
  s.update(ready("a"));
  s.update(ready("b"));
  for (std::uint64_t id = 1; id <= 4; ++id) s.assign(id);
  EXPECT_EQ(s.remove("a"), (std::vector<std::uint64_t>{1, 3}));
  EXPECT_EQ(s.replica_of(1), nullptr);
  EXPECT_EQ(*s.replica_of(2), "b");
  EXPECT_EQ(s.assign(5), "b");
  s.remove("b");
  EXPECT_FALSE(s.assign(6));
}

}  // namespace
}  // namespace troupe::actors
