#include "engine/sampling/sampling_params.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

namespace troupe {
namespace {

constexpr std::int32_t vocab_size = 100;
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

TEST(sampling_params, defaults_are_valid) { EXPECT_TRUE(sampling_params{}.validate(vocab_size)); }

TEST(sampling_params, accepts_greedy_and_every_boundary_value) {
  sampling_params p;
  p.temperature = 0.0f;
  p.top_p = 1.0f;
  p.top_k = -1;
  p.min_p = 1.0f;
  p.presence_penalty = -2.0f;
  p.frequency_penalty = 2.0f;
  p.logit_bias = {{0, -100.0f}, {vocab_size - 1, 100.0f}};
  p.logprobs = 20;
  p.max_tokens = 1;
  p.stop_token_ids = {0, vocab_size - 1};
  EXPECT_TRUE(p.validate(vocab_size));
}

TEST(sampling_params, rejects_a_non_positive_vocab_size) {
  const status s = sampling_params{}.validate(0);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "vocab_size must be > 0, got 0");
}

struct bad_field_case {
  const char* name;
  std::function<void(sampling_params&)> corrupt;
  const char* message;
};

class sampling_params_rejects : public testing::TestWithParam<bad_field_case> {};

TEST_P(sampling_params_rejects, the_field_with_a_message_naming_field_and_value) {
  sampling_params p;
  GetParam().corrupt(p);
  const status s = p.validate(vocab_size);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(s.error().message, GetParam().message);
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(sampling_params, sampling_params_rejects, testing::Values(
  bad_field_case{"negative_temperature", [](sampling_params& p) { p.temperature = -0.5f; },
                 "temperature must be 0 (greedy) or finite and >= 1e-06, got -0.5"},
  bad_field_case{"nan_temperature", [](sampling_params& p) { p.temperature = nan; },
                 "temperature must be 0 (greedy) or finite and >= 1e-06, got nan"},
  bad_field_case{"infinite_temperature", [](sampling_params& p) { p.temperature = INFINITY; },
                 "temperature must be 0 (greedy) or finite and >= 1e-06, got inf"},
  bad_field_case{"denormal_temperature", [](sampling_params& p) { p.temperature = 1e-40f; },
                 "temperature must be 0 (greedy) or finite and >= 1e-06, got 1e-40"},
  bad_field_case{"top_p_above_one", [](sampling_params& p) { p.top_p = 1.5f; },
                 "top_p must be in (0, 1], got 1.5"},
  bad_field_case{"zero_top_p", [](sampling_params& p) { p.top_p = 0.0f; },
                 "top_p must be in (0, 1], got 0"},
  bad_field_case{"nan_top_p", [](sampling_params& p) { p.top_p = nan; },
                 "top_p must be in (0, 1], got nan"},
  bad_field_case{"top_k_below_minus_one", [](sampling_params& p) { p.top_k = -2; },
                 "top_k must be -1, 0 (disabled) or >= 1, got -2"},
  bad_field_case{"negative_min_p", [](sampling_params& p) { p.min_p = -0.1f; },
                 "min_p must be in [0, 1], got -0.1"},
  bad_field_case{"nan_min_p", [](sampling_params& p) { p.min_p = nan; },
                 "min_p must be in [0, 1], got nan"},
  bad_field_case{"zero_repetition_penalty", [](sampling_params& p) { p.repetition_penalty = 0.0f; },
                 "repetition_penalty must be finite and > 0, got 0"},
  bad_field_case{"nan_repetition_penalty", [](sampling_params& p) { p.repetition_penalty = nan; },
                 "repetition_penalty must be finite and > 0, got nan"},
  bad_field_case{"presence_penalty_above_two", [](sampling_params& p) { p.presence_penalty = 2.5f; },
                 "presence_penalty must be in [-2, 2], got 2.5"},
  bad_field_case{"nan_presence_penalty", [](sampling_params& p) { p.presence_penalty = nan; },
                 "presence_penalty must be in [-2, 2], got nan"},
  bad_field_case{"frequency_penalty_below_minus_two",
                 [](sampling_params& p) { p.frequency_penalty = -3.0f; },
                 "frequency_penalty must be in [-2, 2], got -3"},
  bad_field_case{"nan_frequency_penalty", [](sampling_params& p) { p.frequency_penalty = nan; },
                 "frequency_penalty must be in [-2, 2], got nan"},
  bad_field_case{"logit_bias_token_outside_vocabulary",
                 [](sampling_params& p) { p.logit_bias = {{100, 1.0f}}; },
                 "logit_bias token must be in [0, 100), got 100"},
  bad_field_case{"logit_bias_negative_token", [](sampling_params& p) { p.logit_bias = {{-1, 1.0f}}; },
                 "logit_bias token must be in [0, 100), got -1"},
  bad_field_case{"logit_bias_above_hundred", [](sampling_params& p) { p.logit_bias = {{3, 101.0f}}; },
                 "logit_bias for token 3 must be in [-100, 100], got 101"},
  bad_field_case{"nan_logit_bias", [](sampling_params& p) { p.logit_bias = {{3, nan}}; },
                 "logit_bias for token 3 must be in [-100, 100], got nan"},
  bad_field_case{"logprobs_above_twenty", [](sampling_params& p) { p.logprobs = 21; },
                 "logprobs must be -1 (none) or in [0, 20], got 21"},
  bad_field_case{"logprobs_below_minus_one", [](sampling_params& p) { p.logprobs = -2; },
                 "logprobs must be -1 (none) or in [0, 20], got -2"},
  bad_field_case{"zero_max_tokens", [](sampling_params& p) { p.max_tokens = 0; },
                 "max_tokens must be >= 1, got 0"},
  bad_field_case{"empty_stop_string", [](sampling_params& p) { p.stop = {"ok", ""}; },
                 "stop[1] must not be empty"},
  bad_field_case{"stop_token_outside_vocabulary", [](sampling_params& p) { p.stop_token_ids = {5, 250}; },
                 "stop_token_ids entry must be in [0, 100), got 250"}),
  [](const testing::TestParamInfo<bad_field_case>& info) { return std::string(info.param.name); });
// clang-format on

}  // namespace
}  // namespace troupe
