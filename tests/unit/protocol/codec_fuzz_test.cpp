// Random corruption never crashes decode: each input either decodes to a valid message (which
// then round-trips) or is rejected with a parse_error. Seeds are fixed, so failures reproduce.
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "protocol/codec.hpp"
#include "wire_samples.hpp"

namespace troupe::wire {
namespace {

struct outcome_counts {
  int decoded = 0;
  int rejected = 0;
};

// Decodes `bytes`; a message that decodes must survive encode -> decode unchanged.
void decode_and_check(std::span<const std::byte> bytes, outcome_counts& counts) {
  result<envelope> decoded = decode(bytes);
  if (!decoded) {
    ASSERT_EQ(decoded.error().code, errc::parse_error);
    ASSERT_FALSE(decoded.error().message.empty());
    ++counts.rejected;
    return;
  }
  ++counts.decoded;
  result<envelope> again = decode(encode(*decoded));
  ASSERT_TRUE(again.has_value()) << again.error().to_string();
  testing::expect_same(*decoded, *again);
}

TEST(codec_fuzz, random_byte_corruption_never_crashes) {
  const std::vector<envelope> samples = testing::sample_envelopes();
  std::vector<std::vector<std::byte>> encoded;
  for (const envelope& message : samples) encoded.push_back(encode(message));
  outcome_counts counts;
  for (std::uint32_t seed = 0; seed < 4000; ++seed) {
    std::mt19937 rng(seed);
    std::vector<std::byte> bytes = encoded[seed % encoded.size()];
    const int num_flips = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < num_flips; ++i) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
    SCOPED_TRACE(seed);
    decode_and_check(bytes, counts);
    if (HasFatalFailure()) return;
  }
  // Both outcomes happen: corrupted text still decodes, corrupted pointers do not.
  EXPECT_GT(counts.decoded, 0);
  EXPECT_GT(counts.rejected, 0);
}

TEST(codec_fuzz, random_words_behind_a_plausible_segment_table_never_crash) {
  outcome_counts counts;
  for (std::uint32_t seed = 0; seed < 4000; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t num_words = 2 + rng() % 64;
    std::vector<std::uint64_t> words(num_words);
    for (auto& word : words) word = rng();
    // One segment of exactly the remaining words, so Cap'n Proto reads on into the random pointers.
    const std::uint32_t table[2] = {0, static_cast<std::uint32_t>(num_words - 1)};
    if (seed % 4 != 0) std::memcpy(words.data(), table, sizeof(table));
    SCOPED_TRACE(seed);
    decode_and_check(std::as_bytes(std::span(words)), counts);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(counts.rejected, 0);
}

}  // namespace
}  // namespace troupe::wire
