// Oracle: Random123's kat_vectors file (DEShawResearch/random123, tests/kat_vectors), the three
// "philox4x32 10" lines; the same vectors libstdc++'s std::philox4x32 tests use.
#include "engine/sampling/philox.hpp"

#include <gtest/gtest.h>

#include <set>

namespace troupe {
namespace {

TEST(philox, matches_random123_known_answer_for_zero_counter_and_key) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (philox_counter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
}

TEST(philox, matches_random123_known_answer_for_all_ones) {
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (philox_counter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
}

TEST(philox, matches_random123_known_answer_for_pi_digits) {
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (philox_counter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(philox, draw_uniform_is_a_pure_function_of_seed_and_index) {
  EXPECT_EQ(draw_uniform(42, 7), draw_uniform(42, 7));
  EXPECT_NE(draw_uniform(42, 7), draw_uniform(42, 8));
  EXPECT_NE(draw_uniform(42, 7), draw_uniform(43, 7));
}

TEST(philox, draw_uniform_uses_the_high_index_word) {
  EXPECT_NE(draw_uniform(1, 5), draw_uniform(1, 5 + (std::uint64_t{1} << 32)));
}

TEST(philox, draw_uniform_stays_in_unit_interval_and_fills_it_evenly) {
  constexpr int num_bins = 16;
  constexpr int num_draws = 16000;
  std::array<int, num_bins> counts{};
  for (int i = 0; i < num_draws; ++i) {
    const double u = draw_uniform(0x5eed, static_cast<std::uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    ++counts[static_cast<std::size_t>(u * num_bins)];
  }
  double chi_square = 0.0;
  for (const int count : counts) {
    const double expected = num_draws / double{num_bins};
    chi_square += (count - expected) * (count - expected) / expected;
  }
  EXPECT_LT(chi_square, 50.0);  // 15 degrees of freedom: p < 1e-5 above 50
}

}  // namespace
}  // namespace troupe
