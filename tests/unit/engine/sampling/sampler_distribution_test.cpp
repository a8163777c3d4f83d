// Statistical and exact-set tests of sampler::sample over many deterministic seeds. The oracle for
// distributions is softmax(logits / T) renormalized over the kept set, computed here in double;
// for large vocabularies it is reference_draw below, a full sort of the vocabulary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "engine/sampling/philox.hpp"
#include "engine/sampling/sampler.hpp"

namespace troupe {
namespace {

constexpr int num_draws = 20000;

// Token counts over seeds 0..num_draws-1 at output index 0.
std::map<token_id, int> histogram(const std::vector<float>& logits, const sampling_params& p) {
  sampler s;
  std::map<token_id, int> counts;
  std::vector<float> row;
  for (int seed = 0; seed < num_draws; ++seed) {
    row = logits;
    ++counts[s.sample(row, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = std::uint64_t(seed)}).token];
  }
  return counts;
}

std::set<token_id> observed(const std::map<token_id, int>& counts) {
  std::set<token_id> tokens;
  for (const auto& [token, count] : counts) tokens.insert(token);
  return tokens;
}

// Pearson's statistic of `counts` against probabilities proportional to `weights`.
double chi_square(const std::map<token_id, int>& counts, const std::map<token_id, double>& weights) {
  double total_weight = 0.0;
  for (const auto& [token, weight] : weights) total_weight += weight;
  double statistic = 0.0;
  for (const auto& [token, weight] : weights) {
    const double expected = num_draws * weight / total_weight;
    const auto it = counts.find(token);
    const double count = it == counts.end() ? 0.0 : it->second;
    statistic += (count - expected) * (count - expected) / expected;
  }
  return statistic;
}

// A generous bound: mean + 6 standard deviations of chi-square with `dof` degrees of freedom.
double chi_square_bound(std::size_t dof) { return dof + 6.0 * std::sqrt(2.0 * dof) + 5.0; }

std::vector<float> logits_of(const std::vector<double>& probabilities) {
  std::vector<float> logits;
  for (const double probability : probabilities) logits.push_back(static_cast<float>(std::log(probability)));
  return logits;
}

std::map<token_id, double> softmax_weights(const std::vector<float>& logits, float temperature,
                                           const std::set<token_id>& kept) {
  std::map<token_id, double> weights;
  for (const token_id token : kept) weights[token] = std::exp(logits[std::size_t(token)] / temperature);
  return weights;
}

std::set<token_id> all_tokens(std::size_t vocab_size) {
  std::set<token_id> tokens;
  for (std::size_t i = 0; i < vocab_size; ++i) tokens.insert(static_cast<token_id>(i));
  return tokens;
}

TEST(sampler_distribution, temperature_sampling_matches_softmax_of_logits_over_temperature) {
  const std::vector<float> logits = {0.3f, -1.0f, 2.0f, 1.1f, 0.0f, -0.4f, 1.7f, 0.9f, -2.0f, 0.5f};
  sampling_params p;
  p.temperature = 0.7f;
  const auto counts = histogram(logits, p);
  EXPECT_LT(chi_square(counts, softmax_weights(logits, 0.7f, all_tokens(logits.size()))),
            chi_square_bound(logits.size() - 1));
}

TEST(sampler_distribution, high_temperature_flattens_the_distribution_as_softmax_predicts) {
  std::vector<float> logits(64);
  for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i % 7) * 0.8f;
  sampling_params p;
  p.temperature = 1.8f;
  const auto counts = histogram(logits, p);
  EXPECT_LT(chi_square(counts, softmax_weights(logits, 1.8f, all_tokens(logits.size()))),
            chi_square_bound(logits.size() - 1));
}

TEST(sampler_distribution, top_k_keeps_exactly_the_k_best_tokens_renormalized) {
  const std::vector<float> logits = logits_of({0.05, 0.3, 0.1, 0.25, 0.15, 0.15});
  sampling_params p;
  p.top_k = 3;
  const auto counts = histogram(logits, p);
  EXPECT_EQ(observed(counts), (std::set<token_id>{1, 3, 4}));  // 4 beats 5 on the id tie
  EXPECT_LT(chi_square(counts, softmax_weights(logits, 1.0f, {1, 3, 4})), chi_square_bound(2));
}

TEST(sampler_distribution, top_p_keeps_the_smallest_prefix_reaching_p) {
  const std::vector<float> logits = logits_of({0.1, 0.4, 0.2, 0.3});
  sampling_params p;
  p.top_p = 0.65f;  // 0.4 + 0.3 = 0.7 >= 0.65
  const auto counts = histogram(logits, p);
  EXPECT_EQ(observed(counts), (std::set<token_id>{1, 3}));
  EXPECT_LT(chi_square(counts, softmax_weights(logits, 1.0f, {1, 3})), chi_square_bound(1));
}

TEST(sampler_distribution, top_p_includes_the_token_that_crosses_p) {
  const std::vector<float> logits = logits_of({0.1, 0.4, 0.2, 0.3});
  sampling_params p;
  p.top_p = 0.75f;  // 0.7 < 0.75 <= 0.9
  EXPECT_EQ(observed(histogram(logits, p)), (std::set<token_id>{1, 2, 3}));
}

TEST(sampler_distribution, top_p_applies_within_the_top_k_renormalized_set) {
  // Within the top 3 the probabilities are 4/9, 3/9, 2/9: 7/9 >= 0.75 keeps two tokens.
  const std::vector<float> logits = logits_of({0.1, 0.4, 0.2, 0.3});
  sampling_params p;
  p.top_k = 3;
  p.top_p = 0.75f;
  EXPECT_EQ(observed(histogram(logits, p)), (std::set<token_id>{1, 3}));
}

TEST(sampler_distribution, min_p_keeps_tokens_at_least_min_p_times_the_best) {
  const std::vector<float> logits = logits_of({0.05, 0.5, 0.15, 0.1, 0.2});
  sampling_params p;
  p.min_p = 0.25f;  // keeps probabilities >= 0.125
  const auto counts = histogram(logits, p);
  EXPECT_EQ(observed(counts), (std::set<token_id>{1, 2, 4}));
  EXPECT_LT(chi_square(counts, softmax_weights(logits, 1.0f, {1, 2, 4})), chi_square_bound(2));
}

TEST(sampler_distribution, min_p_keeps_the_same_set_after_top_k) {
  const std::vector<float> logits = logits_of({0.05, 0.5, 0.15, 0.1, 0.2});
  sampling_params p;
  p.top_k = 4;
  p.min_p = 0.25f;
  EXPECT_EQ(observed(histogram(logits, p)), (std::set<token_id>{1, 2, 4}));
}

TEST(sampler_distribution, min_p_applies_after_top_p) {
  const std::vector<float> logits = logits_of({0.05, 0.5, 0.15, 0.1, 0.2});
  sampling_params p;
  p.top_p = 0.6f;   // keeps {1, 4}
  p.min_p = 0.25f;  // would keep {1, 2, 4}
  EXPECT_EQ(observed(histogram(logits, p)), (std::set<token_id>{1, 4}));
}

TEST(sampler_distribution, min_p_applies_after_temperature) {
  // T = 0.5 squares the probabilities: 0.04 / 0.25 = 0.16 < 0.25, so only the best survives.
  const std::vector<float> logits = logits_of({0.05, 0.5, 0.15, 0.1, 0.2});
  sampling_params p;
  p.temperature = 0.5f;
  p.min_p = 0.25f;
  EXPECT_EQ(observed(histogram(logits, p)), (std::set<token_id>{1}));
}

TEST(sampler_distribution, same_seed_and_output_index_give_the_same_token_whatever_ran_before) {
  const std::vector<float> logits = {1.0f, 1.1f, 0.9f, 1.2f, 0.8f, 1.05f};
  const std::vector<token_id> output(17, 0);
  sampling_params p;
  sampler fresh;
  sampler busy;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    std::vector<float> other = {3.0f, 0.0f, 1.0f};
    busy.sample(other, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = seed * 31 + 7});
    std::vector<float> a = logits;
    std::vector<float> b = logits;
    const sample_context ctx{.prompt_tokens = {}, .output_tokens = output, .seed = seed};
    ASSERT_EQ(fresh.sample(a, p, ctx).token, busy.sample(b, p, ctx).token) << "seed " << seed;
  }
}

TEST(sampler_distribution, draws_at_consecutive_output_indices_are_independent) {
  // Uniform over 4 tokens: the pair (token at index 0, token at index 1) is uniform over 16 cells.
  const std::vector<float> logits(4, 0.0f);
  const std::vector<token_id> one_token = {0};
  sampling_params p;
  sampler s;
  std::map<token_id, int> pairs;
  std::map<token_id, double> uniform;
  for (token_id cell = 0; cell < 16; ++cell) uniform[cell] = 1.0;
  for (int seed = 0; seed < num_draws; ++seed) {
    std::vector<float> a = logits;
    std::vector<float> b = logits;
    const token_id first = s.sample(a, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = std::uint64_t(seed)}).token;
    const token_id second = s.sample(b, p, {.prompt_tokens = {}, .output_tokens = one_token, .seed = std::uint64_t(seed)}).token;
    ++pairs[first * 4 + second];
  }
  EXPECT_LT(chi_square(pairs, uniform), chi_square_bound(15));
}

// Full-sort reference: the documented pipeline in double precision.
token_id reference_draw(const std::vector<float>& logits, const sampling_params& p, std::uint64_t seed) {
  std::vector<token_id> order(logits.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<token_id>(i);
  std::sort(order.begin(), order.end(), [&](token_id a, token_id b) {
    const float x = logits[std::size_t(a)];
    const float y = logits[std::size_t(b)];
    return x > y || (x == y && a < b);
  });
  if (p.top_k > 0) order.resize(std::min(order.size(), std::size_t(p.top_k)));
  const double max = logits[std::size_t(order[0])];
  std::vector<double> weights;
  double total = 0.0;
  for (const token_id token : order) {
    weights.push_back(std::exp((logits[std::size_t(token)] - max) / p.temperature));
    total += weights.back();
  }
  std::size_t num_kept = order.size();
  double mass = 0.0;
  for (std::size_t i = 0; i < order.size() && p.top_p < 1.0f; ++i) {
    mass += weights[i];
    if (mass >= p.top_p * total) { num_kept = i + 1; break; }
  }
  while (num_kept > 1 && weights[num_kept - 1] < p.min_p) --num_kept;
  double kept_mass = 0.0;
  for (std::size_t i = 0; i < num_kept; ++i) kept_mass += weights[i];
  const double target = draw_uniform(seed, 0) * kept_mass;
  mass = 0.0;
  for (std::size_t i = 0; i < num_kept; ++i) {
    mass += weights[i];
    if (mass >= target) return order[i];
  }
  return order[num_kept - 1];
}

// Logits shaped like a language model's: a broad normal bulk and a few strong candidates.
std::vector<float> llm_like_logits(std::size_t vocab_size, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> bulk(0.0f, 2.0f);
  std::vector<float> logits(vocab_size);
  for (float& logit : logits) logit = bulk(engine);
  std::uniform_int_distribution<std::size_t> pick(0, vocab_size - 1);
  std::uniform_real_distribution<float> boost(6.0f, 14.0f);
  for (int i = 0; i < 30; ++i) logits[pick(engine)] += boost(engine);
  return logits;
}

void expect_agrees_with_reference(const sampling_params& p) {
  const std::vector<float> logits = llm_like_logits(32000, 17);
  sampler s;
  int num_mismatches = 0;
  std::set<token_id> distinct;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    std::vector<float> row = logits;
    const token_id token = s.sample(row, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = seed}).token;
    distinct.insert(token);
    if (token != reference_draw(logits, p, seed)) ++num_mismatches;
  }
  // Float and double sums differ in the last bits: a draw may land between them, rarely.
  EXPECT_LE(num_mismatches, 1);
  EXPECT_GT(distinct.size(), 3u);  // the test exercises real draws, not one dominant token
}

TEST(sampler_distribution, full_vocabulary_draws_match_a_full_sort_reference) {
  sampling_params p;
  p.temperature = 1.0f;
  expect_agrees_with_reference(p);
}

TEST(sampler_distribution, top_p_draws_match_a_full_sort_reference) {
  sampling_params p;
  p.temperature = 0.8f;
  p.top_p = 0.95f;
  expect_agrees_with_reference(p);
}

TEST(sampler_distribution, min_p_draws_match_a_full_sort_reference) {
  sampling_params p;
  p.temperature = 1.3f;
  p.min_p = 0.01f;
  expect_agrees_with_reference(p);
}

TEST(sampler_distribution, combined_truncation_draws_match_a_full_sort_reference) {
  sampling_params p;
  p.temperature = 1.5f;
  p.top_k = 50;
  p.top_p = 0.9f;
  p.min_p = 0.02f;
  expect_agrees_with_reference(p);
}

}  // namespace
}  // namespace troupe
