// sampler::sample: greedy choice, logit bias extremes, logprobs.
#include "engine/sampling/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace troupe {
namespace {

std::vector<float> random_logits(std::size_t vocab_size, std::uint32_t seed, float spread) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> logits(vocab_size);
  for (float& logit : logits) logit = normal(engine);
  return logits;
}

sample_result sample_once(std::vector<float> logits, const sampling_params& p, std::uint64_t seed) {
  sampler s;
  return s.sample(logits, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = seed});
}

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double max = *std::max_element(logits.begin(), logits.end());
  double total = 0.0;
  for (const float logit : logits) total += std::exp(logit - max);
  std::vector<double> out;
  for (const float logit : logits) out.push_back(logit - max - std::log(total));
  return out;
}

TEST(sampler, greedy_picks_the_argmax) {
  sampling_params p;
  p.temperature = 0.0f;
  EXPECT_EQ(sample_once({0.1f, 2.0f, -1.0f, 1.9f}, p, 1).token, 1);
}

TEST(sampler, greedy_breaks_ties_toward_the_lowest_id) {
  sampling_params p;
  p.temperature = 0.0f;
  EXPECT_EQ(sample_once({0.1f, 3.0f, -1.0f, 3.0f, 3.0f}, p, 1).token, 1);
}

TEST(sampler, greedy_finds_the_argmax_in_a_large_vocabulary) {
  sampling_params p;
  p.temperature = 0.0f;
  std::vector<float> logits = random_logits(151936, 3, 2.0f);
  logits[150001] = 50.0f;
  EXPECT_EQ(sample_once(logits, p, 1).token, 150001);
}

TEST(sampler, greedy_ignores_nan_logits) {
  sampling_params p;
  p.temperature = 0.0f;
  EXPECT_EQ(sample_once({NAN, 1.0f, NAN, 2.0f}, p, 1).token, 3);
}

TEST(sampler, positive_hundred_logit_bias_forces_the_token) {
  sampling_params p;
  p.logit_bias = {{777, 100.0f}};
  const std::vector<float> logits = random_logits(32000, 4, 3.0f);
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    ASSERT_EQ(sample_once(logits, p, seed).token, 777) << "seed " << seed;
  }
}

TEST(sampler, negative_hundred_logit_bias_forbids_the_token) {
  sampling_params p;
  p.logit_bias = {{0, -100.0f}};
  // Token 0 would otherwise win about 40% of the draws.
  const std::vector<float> logits = {3.0f, 2.9f, 2.8f};
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    ASSERT_NE(sample_once(logits, p, seed).token, 0) << "seed " << seed;
  }
}

TEST(sampler, logprob_is_nan_when_not_requested) {
  EXPECT_TRUE(std::isnan(sample_once({1.0f, 2.0f}, sampling_params{}, 1).logprob));
}

TEST(sampler, logprob_equals_log_softmax_of_the_sampled_token) {
  sampling_params p;
  p.logprobs = 0;
  const std::vector<float> logits = random_logits(1000, 5, 2.0f);
  const std::vector<double> expected = log_softmax(logits);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const sample_result r = sample_once(logits, p, seed);
    EXPECT_NEAR(r.logprob, expected[static_cast<std::size_t>(r.token)], 1e-5);
    EXPECT_TRUE(r.top_logprobs.empty());
  }
}

TEST(sampler, logprobs_come_from_processed_logits_before_temperature) {
  sampling_params p;
  p.logprobs = 1;
  p.temperature = 0.25f;
  p.logit_bias = {{2, 1.0f}};
  const sample_result r = sample_once({0.0f, 1.0f, 1.5f}, p, 9);
  const std::vector<double> expected = log_softmax({0.0f, 1.0f, 2.5f});
  EXPECT_NEAR(r.logprob, expected[static_cast<std::size_t>(r.token)], 1e-6);
  ASSERT_EQ(r.top_logprobs.size(), 1u);
  EXPECT_EQ(r.top_logprobs[0].token, 2);
  EXPECT_NEAR(r.top_logprobs[0].logprob, expected[2], 1e-6);
}

TEST(sampler, top_logprobs_are_the_n_most_likely_sorted_descending) {
  sampling_params p;
  p.logprobs = 20;
  const std::vector<float> logits = random_logits(5000, 6, 2.0f);
  const std::vector<double> expected = log_softmax(logits);
  std::vector<token_id> order(logits.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<token_id>(i);
  std::sort(order.begin(), order.end(), [&](token_id a, token_id b) {
    return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)];
  });
  const sample_result r = sample_once(logits, p, 11);
  ASSERT_EQ(r.top_logprobs.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_EQ(r.top_logprobs[i].token, order[i]);
    EXPECT_NEAR(r.top_logprobs[i].logprob, expected[static_cast<std::size_t>(order[i])], 1e-5);
  }
}

TEST(sampler, top_logprobs_break_ties_toward_the_lowest_id) {
  sampling_params p;
  p.logprobs = 3;
  const sample_result r = sample_once({1.0f, 2.0f, 1.0f, 2.0f, 1.0f}, p, 2);
  ASSERT_EQ(r.top_logprobs.size(), 3u);
  EXPECT_EQ(r.top_logprobs[0].token, 1);
  EXPECT_EQ(r.top_logprobs[1].token, 3);
  EXPECT_EQ(r.top_logprobs[2].token, 0);
}

TEST(sampler, greedy_reports_logprobs_too) {
  sampling_params p;
  p.temperature = 0.0f;
  p.logprobs = 2;
  const sample_result r = sample_once({0.0f, std::log(3.0f)}, p, 0);
  EXPECT_EQ(r.token, 1);
  EXPECT_NEAR(r.logprob, std::log(0.75), 1e-6);
  ASSERT_EQ(r.top_logprobs.size(), 2u);
  EXPECT_NEAR(r.top_logprobs[1].logprob, std::log(0.25), 1e-6);
}

}  // namespace
}  // namespace troupe
