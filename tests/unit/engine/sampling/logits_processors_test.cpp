// sampler::process_logits: logit bias, repetition penalty (HF/CTRL: divide positive logits,
// multiply negative ones, once per distinct token of prompt + output) and OpenAI presence and
// frequency penalties (over output tokens: logit -= count * frequency + presence).
#include <gtest/gtest.h>

#include <vector>

#include "engine/sampling/sampler.hpp"

namespace troupe {
namespace {

std::vector<float> processed(std::vector<float> logits, const sampling_params& p,
                             std::vector<token_id> prompt, std::vector<token_id> output) {
  sampler s;
  s.process_logits(logits, p, {.prompt_tokens = prompt, .output_tokens = output, .seed = 0});
  return logits;
}

TEST(logits_processors, logit_bias_adds_to_the_named_tokens_only) {
  sampling_params p;
  p.logit_bias = {{1, 2.5f}, {3, -1.0f}};
  EXPECT_EQ(processed({1.0f, 1.0f, 1.0f, 1.0f}, p, {}, {}),
            (std::vector<float>{1.0f, 3.5f, 1.0f, 0.0f}));
}

TEST(logits_processors, repeated_logit_bias_entries_add_up) {
  sampling_params p;
  p.logit_bias = {{0, 1.0f}, {0, 2.0f}};
  EXPECT_EQ(processed({0.5f}, p, {}, {}), (std::vector<float>{3.5f}));
}

TEST(logits_processors, repetition_penalty_divides_positive_and_multiplies_negative_logits) {
  sampling_params p;
  p.repetition_penalty = 2.0f;
  EXPECT_EQ(processed({4.0f, -3.0f, 0.0f, 8.0f}, p, {0, 1}, {2}),
            (std::vector<float>{2.0f, -6.0f, 0.0f, 8.0f}));
}

TEST(logits_processors, repetition_penalty_applies_once_per_distinct_token) {
  sampling_params p;
  p.repetition_penalty = 2.0f;
  EXPECT_EQ(processed({4.0f, -3.0f}, p, {0, 0, 1}, {0, 1, 1}), (std::vector<float>{2.0f, -6.0f}));
}

TEST(logits_processors, repetition_penalty_below_one_rewards_seen_tokens) {
  sampling_params p;
  p.repetition_penalty = 0.5f;
  EXPECT_EQ(processed({4.0f, -3.0f, 1.0f}, p, {0}, {1}), (std::vector<float>{8.0f, -1.5f, 1.0f}));
}

TEST(logits_processors, frequency_penalty_scales_with_output_count) {
  sampling_params p;
  p.frequency_penalty = 0.5f;
  EXPECT_EQ(processed({1.0f, 1.0f, 1.0f}, p, {}, {0, 0, 0, 1}),
            (std::vector<float>{-0.5f, 0.5f, 1.0f}));
}

TEST(logits_processors, presence_penalty_subtracts_once_per_present_token) {
  sampling_params p;
  p.presence_penalty = 1.5f;
  EXPECT_EQ(processed({1.0f, 1.0f, 1.0f}, p, {}, {0, 0, 0, 1}),
            (std::vector<float>{-0.5f, -0.5f, 1.0f}));
}

TEST(logits_processors, presence_and_frequency_penalties_ignore_prompt_tokens) {
  sampling_params p;
  p.presence_penalty = 1.0f;
  p.frequency_penalty = 1.0f;
  EXPECT_EQ(processed({1.0f, 1.0f}, p, {0, 0, 1}, {}), (std::vector<float>{1.0f, 1.0f}));
}

TEST(logits_processors, combined_penalties_follow_the_documented_order) {
  // bias: 3 -> 5; repetition /2 -> 2.5; frequency 2 * 0.25 and presence 1 -> 1.0.
  sampling_params p;
  p.logit_bias = {{0, 2.0f}};
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = 0.25f;
  p.presence_penalty = 1.0f;
  EXPECT_EQ(processed({3.0f, 7.0f}, p, {1}, {0, 0}), (std::vector<float>{1.0f, 3.5f}));
}

TEST(logits_processors, scratch_counts_do_not_leak_into_the_next_call) {
  sampling_params p;
  p.frequency_penalty = 1.0f;
  p.repetition_penalty = 2.0f;
  sampler s;
  std::vector<float> first = {2.0f, 2.0f};
  const std::vector<token_id> first_output = {0, 0, 0};
  s.process_logits(first, p, {.prompt_tokens = {}, .output_tokens = first_output, .seed = 0});
  std::vector<float> second = {2.0f, 2.0f};
  const std::vector<token_id> second_output = {1};
  s.process_logits(second, p, {.prompt_tokens = {}, .output_tokens = second_output, .seed = 0});
  EXPECT_EQ(second, (std::vector<float>{2.0f, 0.0f}));
}

}  // namespace
}  // namespace troupe
