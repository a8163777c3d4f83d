// Per-request sampling parameters (OpenAI/vLLM semantics) and their validation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe {

struct sampling_params {
  float temperature = 1.0f;         // 0 = greedy; otherwise in [1e-6, inf)
  float top_p = 1.0f;               // (0, 1]
  std::int32_t top_k = 0;           // 0 or -1 = disabled; >= vocab size also keeps everything
  float min_p = 0.0f;               // [0, 1], relative to the most likely token
  float repetition_penalty = 1.0f;  // > 0; HF/CTRL style over prompt + output tokens
  float presence_penalty = 0.0f;    // [-2, 2]; OpenAI style over output tokens
  float frequency_penalty = 0.0f;   // [-2, 2]; OpenAI style over output tokens
  std::vector<std::pair<token_id, float>> logit_bias;  // added to logits; bias in [-100, 100]
  std::optional<std::uint64_t> seed;  // unset: the engine draws one per request
  std::int32_t logprobs = -1;  // -1: none; 0..20: the sampled token's logprob plus this many top alternatives
  std::int32_t max_tokens = 16;         // >= 1
  std::vector<std::string> stop;        // stop strings, non-empty (applied by the engine on text)
  std::vector<token_id> stop_token_ids;  // each in [0, vocab_size)
  bool ignore_eos = false;

  // Checks every field against its range; the error (errc::invalid_argument) names the field and
  // the value, e.g. "top_p must be in (0, 1], got 1.5". NaN is rejected wherever a float is read.
  status validate(std::int32_t vocab_size) const;
};

// Largest number of top alternatives a request may ask for (OpenAI's limit).
inline constexpr std::int32_t max_num_top_logprobs = 20;

// Smallest non-zero temperature: below it 1/T leaves float range for logit gaps of a few units.
inline constexpr float min_nonzero_temperature = 1e-6f;

}  // namespace troupe
