#include "engine/sampling/sampling_params.hpp"

#include <cmath>

namespace troupe {
namespace {

// Written as !(in range) so that NaN fails every check.
bool in_closed(float value, float lo, float hi) { return value >= lo && value <= hi; }

error invalid(std::string message) { return error{errc::invalid_argument, std::move(message)}; }

status validate_floats(const sampling_params& p) {
  if (!(p.temperature == 0.0f ||
        (p.temperature >= min_nonzero_temperature && std::isfinite(p.temperature)))) {
    return invalid(fmt::format("temperature must be 0 (greedy) or finite and >= {}, got {}",
                               min_nonzero_temperature, p.temperature));
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return invalid(fmt::format("top_p must be in (0, 1], got {}", p.top_p));
  }
  if (!in_closed(p.min_p, 0.0f, 1.0f)) {
    return invalid(fmt::format("min_p must be in [0, 1], got {}", p.min_p));
  }
  if (!(p.repetition_penalty > 0.0f && std::isfinite(p.repetition_penalty))) {
    return invalid(fmt::format("repetition_penalty must be finite and > 0, got {}",
                               p.repetition_penalty));
  }
  if (!in_closed(p.presence_penalty, -2.0f, 2.0f)) {
    return invalid(fmt::format("presence_penalty must be in [-2, 2], got {}", p.presence_penalty));
  }
  if (!in_closed(p.frequency_penalty, -2.0f, 2.0f)) {
    return invalid(
        fmt::format("frequency_penalty must be in [-2, 2], got {}", p.frequency_penalty));
  }
  return ok();
}

status validate_token_lists(const sampling_params& p, std::int32_t vocab_size) {
  for (const auto& [token, bias] : p.logit_bias) {
    if (token < 0 || token >= vocab_size) {
      return invalid(fmt::format("logit_bias token must be in [0, {}), got {}", vocab_size, token));
    }
    if (!in_closed(bias, -100.0f, 100.0f)) {
      return invalid(
          fmt::format("logit_bias for token {} must be in [-100, 100], got {}", token, bias));
    }
  }
  for (const token_id token : p.stop_token_ids) {
    if (token < 0 || token >= vocab_size) {
      return invalid(
          fmt::format("stop_token_ids entry must be in [0, {}), got {}", vocab_size, token));
    }
  }
  for (std::size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty()) return invalid(fmt::format("stop[{}] must not be empty", i));
  }
  return ok();
}

}  // namespace

status sampling_params::validate(std::int32_t vocab_size) const {
  if (vocab_size <= 0) return invalid(fmt::format("vocab_size must be > 0, got {}", vocab_size));
  TROUPE_RETURN_IF_ERROR(validate_floats(*this));
  if (top_k < -1) {
    return invalid(fmt::format("top_k must be -1, 0 (disabled) or >= 1, got {}", top_k));
  }
  if (logprobs < -1 || logprobs > max_num_top_logprobs) {
    return invalid(fmt::format("logprobs must be -1 (none) or in [0, {}], got {}",
                               max_num_top_logprobs, logprobs));
  }
  if (max_tokens < 1) return invalid(fmt::format("max_tokens must be >= 1, got {}", max_tokens));
  return validate_token_lists(*this, vocab_size);
}

}  // namespace troupe
