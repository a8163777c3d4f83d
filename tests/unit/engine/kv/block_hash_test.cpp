#include "engine/kv/block_hash.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace troupe {
namespace {

TEST(block_hash, depends_on_the_parent_hash) {
  std::vector<token_id> tokens = {1, 2, 3, 4};
  EXPECT_NE(hash_block_tokens(kRootBlockHash, tokens),
            hash_block_tokens(kRootBlockHash + 1, tokens));
}

TEST(block_hash, depends_on_every_token_position) {
  std::vector<token_id> tokens = {1, 2, 3, 4, 5};
  const std::uint64_t base = hash_block_tokens(kRootBlockHash, tokens);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    std::vector<token_id> changed = tokens;
    changed[i] += 1;
    EXPECT_NE(hash_block_tokens(kRootBlockHash, changed), base) << "position " << i;
  }
}

TEST(block_hash, distinguishes_token_order_and_trailing_zero_tokens) {
  std::vector<token_id> ordered = {7, 9};
  std::vector<token_id> swapped = {9, 7};
  std::vector<token_id> padded = {7, 9, 0};
  const std::uint64_t base = hash_block_tokens(kRootBlockHash, ordered);
  EXPECT_NE(hash_block_tokens(kRootBlockHash, swapped), base);
  EXPECT_NE(hash_block_tokens(kRootBlockHash, padded), base);
}

TEST(block_hash, is_deterministic) {
  std::vector<token_id> tokens = {11, 22, 33};
  EXPECT_EQ(hash_block_tokens(5, tokens), hash_block_tokens(5, tokens));
}

}  // namespace
}  // namespace troupe
