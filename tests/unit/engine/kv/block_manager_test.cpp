#include "engine/kv/block_manager.hpp"

#include <numeric>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr std::int32_t kBlockSize = 4;

block_manager make_manager(std::int64_t num_blocks, bool enable_prefix_caching = true) {
  return block_manager(block_manager_options{.num_blocks = num_blocks,
                                             .block_size = kBlockSize,
                                             .enable_prefix_caching = enable_prefix_caching});
}

// Tokens first, first + 1, ..., first + num_tokens - 1.
std::vector<token_id> make_tokens(std::int32_t num_tokens, token_id first = 100) {
  std::vector<token_id> tokens(static_cast<std::size_t>(num_tokens));
  std::iota(tokens.begin(), tokens.end(), first);
  return tokens;
}

std::vector<std::int32_t> ids(const std::vector<block_id>& table) {
  std::vector<std::int32_t> values;
  for (block_id id : table) values.push_back(id.value);
  return values;
}

// Allocates a table for `tokens`, marks them all computed and frees the table again, leaving the
// full blocks cached and evictable.
std::vector<std::int32_t> cache_and_release(block_manager& manager,
                                            const std::vector<token_id>& tokens) {
  std::vector<block_id> table;
  EXPECT_TRUE(manager.allocate(table, static_cast<std::int64_t>(tokens.size())));
  manager.commit_full_blocks(table, tokens, static_cast<std::int64_t>(tokens.size()));
  std::vector<std::int32_t> used = ids(table);
  manager.free(table);
  return used;
}

std::uint64_t constant_hash(std::uint64_t, std::span<const token_id>) {
  return 42;
}

TEST(block_manager, allocates_fresh_blocks_in_id_order) {
  block_manager manager = make_manager(8);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 10));
  EXPECT_THAT(ids(table), ElementsAre(0, 1, 2));
  EXPECT_EQ(manager.num_free_blocks(), 5);
}

TEST(block_manager, allocate_appends_only_the_missing_blocks) {
  block_manager manager = make_manager(8);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 4));
  ASSERT_TRUE(manager.allocate(table, 4));
  EXPECT_THAT(ids(table), ElementsAre(0));
  ASSERT_TRUE(manager.allocate(table, 5));
  EXPECT_THAT(ids(table), ElementsAre(0, 1));
}

TEST(block_manager, allocate_fails_without_changing_anything_when_the_pool_is_short) {
  block_manager manager = make_manager(3);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 8));
  EXPECT_FALSE(manager.allocate(table, 13));
  EXPECT_THAT(ids(table), ElementsAre(0, 1));
  EXPECT_EQ(manager.num_free_blocks(), 1);
  EXPECT_TRUE(manager.can_allocate(1));
  EXPECT_FALSE(manager.can_allocate(2));
}

TEST(block_manager, reuses_freed_blocks_after_never_used_ones) {
  block_manager manager = make_manager(4);
  std::vector<block_id> first;
  ASSERT_TRUE(manager.allocate(first, 8));
  manager.free(first);
  EXPECT_THAT(first, IsEmpty());
  std::vector<block_id> second;
  ASSERT_TRUE(manager.allocate(second, 16));
  EXPECT_THAT(ids(second), ElementsAre(2, 3, 1, 0));
}

TEST(block_manager, shared_prefix_shares_blocks_with_refcount_two) {
  block_manager manager = make_manager(8);
  std::vector<token_id> tokens = make_tokens(12);
  std::vector<block_id> first;
  ASSERT_TRUE(manager.allocate(first, 12));
  manager.commit_full_blocks(first, tokens, 12);

  tokens.push_back(7);
  tokens.push_back(8);
  prefix_match match = manager.match_prefix(tokens);
  EXPECT_THAT(ids(match.blocks), ElementsAre(0, 1, 2));
  EXPECT_EQ(match.num_cached_tokens, 12);
  std::vector<block_id> second;
  ASSERT_TRUE(manager.allocate(second, 14, match));
  EXPECT_THAT(ids(second), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(manager.ref_count(block_id{0}), 2);
  EXPECT_EQ(manager.ref_count(block_id{2}), 2);
  EXPECT_EQ(manager.ref_count(block_id{3}), 1);
}

TEST(block_manager, partially_filled_last_block_is_never_shared) {
  block_manager manager = make_manager(8);
  std::vector<token_id> tokens = make_tokens(10);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 10));
  manager.commit_full_blocks(table, tokens, 10);
  EXPECT_TRUE(manager.is_cached(block_id{1}));
  EXPECT_FALSE(manager.is_cached(block_id{2}));
  prefix_match match = manager.match_prefix(tokens);
  EXPECT_THAT(ids(match.blocks), ElementsAre(0, 1));
  EXPECT_EQ(match.num_cached_tokens, 8);
}

TEST(block_manager, blocks_with_uncomputed_tokens_are_not_registered) {
  block_manager manager = make_manager(8);
  std::vector<token_id> tokens = make_tokens(12);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 12));
  manager.commit_full_blocks(table, tokens, 7);
  EXPECT_EQ(manager.num_cached_blocks(), 1);
  EXPECT_EQ(manager.match_prefix(tokens).num_cached_tokens, 4);
  manager.commit_full_blocks(table, tokens, 12);
  EXPECT_EQ(manager.num_cached_blocks(), 3);
}

TEST(block_manager, prefix_differing_in_the_first_block_does_not_match_later_blocks) {
  block_manager manager = make_manager(8);
  cache_and_release(manager, make_tokens(8));
  std::vector<token_id> other = make_tokens(8);
  other[0] = 1;
  EXPECT_THAT(manager.match_prefix(other).blocks, IsEmpty());
}

TEST(block_manager, takes_truly_free_blocks_before_evicting_cached_ones) {
  block_manager manager = make_manager(4);
  EXPECT_THAT(cache_and_release(manager, make_tokens(4, 0)), ElementsAre(0));
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 12));
  EXPECT_THAT(ids(table), ElementsAre(1, 2, 3));
  EXPECT_TRUE(manager.is_cached(block_id{0}));
  EXPECT_EQ(manager.match_prefix(make_tokens(4, 0)).num_cached_tokens, 4);
}

TEST(block_manager, evicts_least_recently_used_free_block_first) {
  block_manager manager = make_manager(3);
  EXPECT_THAT(cache_and_release(manager, make_tokens(4, 0)), ElementsAre(0));
  EXPECT_THAT(cache_and_release(manager, make_tokens(4, 10)), ElementsAre(1));
  EXPECT_THAT(cache_and_release(manager, make_tokens(4, 20)), ElementsAre(2));
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 8));
  EXPECT_THAT(ids(table), ElementsAre(0, 1));
  EXPECT_FALSE(manager.is_cached(block_id{0}));
  EXPECT_FALSE(manager.is_cached(block_id{1}));
  EXPECT_TRUE(manager.is_cached(block_id{2}));
  EXPECT_THAT(manager.match_prefix(make_tokens(4, 0)).blocks, IsEmpty());
  EXPECT_EQ(manager.match_prefix(make_tokens(4, 20)).num_cached_tokens, 4);
}

TEST(block_manager, prefix_hit_makes_a_block_most_recently_used) {
  block_manager manager = make_manager(2);
  cache_and_release(manager, make_tokens(4, 0));   // block 0
  cache_and_release(manager, make_tokens(4, 10));  // block 1
  std::vector<block_id> reuse;
  ASSERT_TRUE(manager.allocate(reuse, 4, manager.match_prefix(make_tokens(4, 0))));
  EXPECT_THAT(ids(reuse), ElementsAre(0));
  manager.free(reuse);
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 4));
  EXPECT_THAT(ids(table), ElementsAre(1));
  EXPECT_TRUE(manager.is_cached(block_id{0}));
}

TEST(block_manager, freeing_a_table_makes_its_tail_blocks_evicted_before_its_head) {
  block_manager manager = make_manager(2);
  EXPECT_THAT(cache_and_release(manager, make_tokens(8)), ElementsAre(0, 1));
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 4));
  EXPECT_THAT(ids(table), ElementsAre(1));
  EXPECT_EQ(manager.match_prefix(make_tokens(8)).num_cached_tokens, 4);
}

TEST(block_manager, hash_collision_is_not_a_hit) {
  block_manager manager(block_manager_options{
      .num_blocks = 4, .block_size = kBlockSize, .hash_block = constant_hash});
  cache_and_release(manager, make_tokens(4, 0));
  EXPECT_THAT(manager.match_prefix(make_tokens(4, 50)).blocks, IsEmpty());
  EXPECT_EQ(manager.match_prefix(make_tokens(4, 0)).num_cached_tokens, 4);
}

TEST(block_manager, colliding_block_is_not_registered_over_the_cached_one) {
  block_manager manager(block_manager_options{
      .num_blocks = 4, .block_size = kBlockSize, .hash_block = constant_hash});
  cache_and_release(manager, make_tokens(4, 0));
  std::vector<block_id> table;
  std::vector<token_id> other = make_tokens(4, 50);
  ASSERT_TRUE(manager.allocate(table, 4));
  manager.commit_full_blocks(table, other, 4);
  EXPECT_FALSE(manager.is_cached(table[0]));
  EXPECT_EQ(manager.num_cached_blocks(), 1);
  manager.free(table);
  EXPECT_EQ(manager.match_prefix(make_tokens(4, 0)).num_cached_tokens, 4);
}

TEST(block_manager, duplicate_block_is_freed_not_cached_and_keeps_the_chain) {
  block_manager manager = make_manager(8);
  std::vector<token_id> short_tokens = make_tokens(4);
  std::vector<token_id> long_tokens = make_tokens(8);
  std::vector<block_id> first;
  std::vector<block_id> second;
  ASSERT_TRUE(manager.allocate(first, 4));   // block 0
  ASSERT_TRUE(manager.allocate(second, 8));  // blocks 1, 2: computed before 0 was registered
  manager.commit_full_blocks(first, short_tokens, 4);
  manager.commit_full_blocks(second, long_tokens, 8);
  EXPECT_FALSE(manager.is_cached(block_id{1}));
  EXPECT_TRUE(manager.is_cached(block_id{2}));
  EXPECT_THAT(ids(manager.match_prefix(long_tokens).blocks), ElementsAre(0, 2));
  manager.free(second);
  EXPECT_EQ(manager.stats().num_evictable_blocks, 1);
  EXPECT_EQ(manager.num_cached_blocks(), 2);
}

TEST(block_manager, allocate_counts_evictable_prefix_blocks_against_the_pool) {
  block_manager manager = make_manager(2);
  cache_and_release(manager, make_tokens(8));
  std::vector<token_id> tokens = make_tokens(12);
  prefix_match match = manager.match_prefix(tokens);
  ASSERT_EQ(match.blocks.size(), 2U);
  std::vector<block_id> table;
  EXPECT_FALSE(manager.allocate(table, 12, match));
  EXPECT_THAT(table, IsEmpty());
  EXPECT_EQ(manager.ref_count(block_id{0}), 0);
  EXPECT_EQ(manager.stats().num_evictable_blocks, 2);
  EXPECT_EQ(manager.stats().prefix_cache_queried_tokens, 0);
}

TEST(block_manager, disabled_prefix_caching_never_matches_or_registers) {
  block_manager manager = make_manager(4, /*enable_prefix_caching=*/false);
  cache_and_release(manager, make_tokens(8));
  EXPECT_EQ(manager.num_cached_blocks(), 0);
  prefix_match match = manager.match_prefix(make_tokens(8));
  EXPECT_THAT(match.blocks, IsEmpty());
  EXPECT_EQ(match.num_query_tokens, 0);
  EXPECT_EQ(manager.num_free_blocks(), 4);
}

TEST(block_manager, stats_count_prefix_queries_and_hits_in_tokens) {
  block_manager manager = make_manager(8);
  cache_and_release(manager, make_tokens(8));
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 11, manager.match_prefix(make_tokens(11))));
  block_manager_stats stats = manager.stats();
  EXPECT_EQ(stats.prefix_cache_queried_tokens, 11);
  EXPECT_EQ(stats.prefix_cache_hit_tokens, 8);
}

TEST(block_manager, usage_counts_only_blocks_referenced_by_a_sequence) {
  block_manager manager = make_manager(4);
  cache_and_release(manager, make_tokens(8));
  std::vector<block_id> table;
  ASSERT_TRUE(manager.allocate(table, 4));
  block_manager_stats stats = manager.stats();
  EXPECT_DOUBLE_EQ(stats.usage, 0.25);
  EXPECT_EQ(stats.num_free_blocks, 3);
  EXPECT_EQ(stats.num_cached_blocks, 2);
}

TEST(block_manager, validate_rejects_an_empty_pool_and_a_zero_block_size) {
  status no_blocks = block_manager::validate(block_manager_options{.num_blocks = 0});
  ASSERT_FALSE(no_blocks);
  EXPECT_EQ(no_blocks.error().code, errc::invalid_argument);
  EXPECT_THAT(no_blocks.error().message, ::testing::HasSubstr("num_blocks"));
  status no_size = block_manager::validate(block_manager_options{.num_blocks = 4, .block_size = 0});
  ASSERT_FALSE(no_size);
  EXPECT_THAT(no_size.error().message, ::testing::HasSubstr("block_size"));
}

}  // namespace
}  // namespace troupe
