// Candidate selection: the oracle is a full std::sort in draw order followed by a linear scan.
#include "engine/sampling/candidates.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace troupe {
namespace {

std::vector<candidate> random_candidates(std::size_t count, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int> coarse_logit(0, 40);  // many ties, broken by id
  std::uniform_real_distribution<float> weight(0.0f, 1.0f);
  std::vector<candidate> out;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back({static_cast<float>(coarse_logit(engine)) * 0.25f, weight(engine),
                   static_cast<token_id>(i)});
  }
  return out;
}

TEST(candidates, ranks_higher_logits_first_and_lower_ids_first_on_ties) {
  EXPECT_TRUE(ranks_before({2.0f, 0.0f, 9}, {1.0f, 0.0f, 1}));
  EXPECT_TRUE(ranks_before({1.0f, 0.0f, 1}, {1.0f, 0.0f, 9}));
  EXPECT_FALSE(ranks_before({1.0f, 0.0f, 9}, {1.0f, 0.0f, 9}));
  EXPECT_TRUE(ranks_before({-1.0f, 0.0f, 5}, {NAN, 0.0f, 0}));
}

TEST(candidates, select_top_k_returns_the_k_best_in_draw_order) {
  const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 3.0f, 2.0f, NAN, 2.5f};
  std::vector<candidate> out;
  select_top_k(logits, 4, out);
  std::vector<token_id> tokens;
  for (const candidate& c : out) tokens.push_back(c.token);
  EXPECT_EQ(tokens, (std::vector<token_id>{1, 3, 6, 4}));
}

TEST(candidates, select_top_k_replaces_leading_nan_logits) {
  const std::vector<float> logits = {NAN, NAN, 1.0f, 2.0f};
  std::vector<candidate> out;
  select_top_k(logits, 2, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token, 3);
  EXPECT_EQ(out[1].token, 2);
}

TEST(candidates, collect_at_least_keeps_positive_weights_above_the_bound) {
  const std::vector<float> logits(40, 0.0f);
  std::vector<float> weights(40, 0.1f);
  weights[3] = 0.0f;
  weights[17] = 0.9f;
  weights[38] = 0.5f;
  std::vector<candidate> out;
  collect_at_least(logits, weights, 0.5f, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].token, 17);
  EXPECT_EQ(out[1].token, 38);
  collect_at_least(logits, weights, 0.0f, out);
  EXPECT_EQ(out.size(), 39u);
}

TEST(candidates, select_reaching_matches_a_sort_and_scan_for_every_target) {
  for (std::uint32_t seed = 0; seed < 20; ++seed) {
    const std::vector<candidate> original = random_candidates(500 + seed * 37, seed);
    std::vector<candidate> sorted = original;
    std::sort(sorted.begin(), sorted.end(), ranks_before);
    double total = 0.0;
    for (const candidate& c : sorted) total += c.weight;
    for (const double fraction : {0.0, 0.013, 0.25, 0.5, 0.77, 0.999}) {
      std::vector<candidate> work = original;
      const std::size_t r = select_reaching(work, fraction * total);
      const std::size_t expected = first_reaching(sorted, fraction * total);
      ASSERT_EQ(work[r].token, sorted[expected].token) << "seed " << seed << " fraction " << fraction;
      ASSERT_EQ(r, expected);
      for (std::size_t i = 0; i < r; ++i) ASSERT_TRUE(ranks_before(work[i], work[r]));
    }
  }
}

TEST(candidates, select_reaching_returns_the_last_in_draw_order_when_the_target_is_out_of_reach) {
  std::vector<candidate> work = random_candidates(100, 3);
  const std::size_t r = select_reaching(work, 1e9);
  for (std::size_t i = 0; i < work.size(); ++i) {
    if (i != r) {
      EXPECT_TRUE(ranks_before(work[i], work[r]));
    }
  }
}

}  // namespace
}  // namespace troupe
