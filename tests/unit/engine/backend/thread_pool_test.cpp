#include "engine/common/thread_pool.hpp"

#include <atomic>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace troupe {
namespace {

TEST(thread_pool, static_schedule_covers_every_item_exactly_once) {
  thread_pool pool(3);
  for (std::int64_t n : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    pool.parallel_for(n, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
      for (std::int64_t i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
    });
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1) << "n = " << n;
  }
}

TEST(thread_pool, static_schedule_gives_each_worker_its_contiguous_share) {
  thread_pool pool(2);
  std::vector<std::int32_t> owner(10, -1);
  pool.parallel_for(10, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    for (std::int64_t i = begin; i < end; ++i) owner[static_cast<std::size_t>(i)] = worker;
  });
  EXPECT_EQ(owner, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1}));
}

TEST(thread_pool, dynamic_schedule_covers_every_item_exactly_once) {
  thread_pool pool(2);
  std::vector<std::atomic<int>> hits(1001);
  pool.parallel_for_dynamic(1001, 7, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    EXPECT_LE(end - begin, 7);
    EXPECT_TRUE(worker == 0 || worker == 1);
    for (std::int64_t i = begin; i < end; ++i) hits[static_cast<std::size_t>(i)].fetch_add(1);
  });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
}

TEST(thread_pool, runs_many_consecutive_loops) {
  thread_pool pool(2);
  std::atomic<std::int64_t> sum{0};
  for (int round = 0; round < 20000; ++round)
    pool.parallel_for(4, [&](std::int64_t begin, std::int64_t end, std::int32_t) { sum.fetch_add(end - begin); });
  EXPECT_EQ(sum.load(), 80000);
}

TEST(thread_pool, runs_a_nested_loop_serially_on_the_calling_worker) {
  thread_pool pool(2);
  std::atomic<int> inner_items{0};
  pool.parallel_for(2, [&](std::int64_t, std::int64_t, std::int32_t worker) {
    pool.parallel_for(5, [&](std::int64_t begin, std::int64_t end, std::int32_t inner_worker) {
      EXPECT_EQ(inner_worker, 0);
      inner_items.fetch_add(static_cast<int>(end - begin));
    });
  });
  EXPECT_EQ(inner_items.load(), 10);
}

TEST(thread_pool, single_thread_pool_runs_on_the_caller) {
  thread_pool pool(1);
  std::int64_t calls = 0;
  pool.parallel_for(9, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    EXPECT_EQ(worker, 0);
    EXPECT_EQ(end - begin, 9);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
}

TEST(thread_pool, ignores_an_empty_loop) {
  thread_pool pool(2);
  bool called = false;
  pool.parallel_for(0, [&](std::int64_t, std::int64_t, std::int32_t) { called = true; });
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace troupe
