// Passes over a whole vocabulary row, written with GNU vector extensions (4 floats, SSE2 and up)
// so that they are vectorized whatever the optimizer decides and sum in a fixed order: the
// rounding, and so every sampled token, is the same for a given build of any flags.
#pragma once

#include <bit>
#include <cstdint>
#include <span>

#include "engine/common/ids.hpp"

namespace troupe {

using float4 = float __attribute__((vector_size(16)));
using int4 = std::int32_t __attribute__((vector_size(16)));

// exp(x) for x <= 0, within 2 ulp of std::exp on (-87, 0]; 0 for x <= -87, -inf and NaN (so a
// NaN logit is never drawn). Cephes' expf polynomial, branch-free; V is float or float4 and
// both give bit-identical results per element.
template <class V>
V exp_nonpositive(V x) {
  constexpr float lowest_x = -87.0f;
  const auto in_range = x > lowest_x;  // false for NaN
  const V lowest = V{} + lowest_x;
  x = in_range ? x : lowest;
  constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const V n = (x * 1.44269504088896341f + round_magic) - round_magic;
  const V r = (x - n * 0.693359375f) - n * -2.12194440e-4f;  // x - n*ln(2), two-part ln(2)
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const V y = p * r * r + r + 1.0f;
  V scale;
  if constexpr (sizeof(V) == sizeof(float)) {
    scale = std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  } else {
    scale = std::bit_cast<V>((__builtin_convertvector(n, int4) + 127) << 23);
  }
  return in_range ? y * scale : V{};
}

// The largest logit, ignoring NaN; -inf for an all -inf/NaN row. Requires a non-empty row.
float max_logit(std::span<const float> logits);

// The first index >= from whose value is >= threshold (never a NaN), or values.size().
std::size_t next_at_least(std::span<const float> values, float threshold, std::size_t from);

// The lowest token id whose logit equals max_logit(logits); 0 when every logit is NaN.
token_id argmax_lowest_id(std::span<const float> logits);

// weights[i] = exp((logits[i] - max) * inv_temperature), so the most likely token weighs 1;
// returns their sum. `max` is the row's finite maximum; weights.size() == logits.size().
double exp_weights(std::span<const float> logits, float max, float inv_temperature,
                   std::span<float> weights);

// The sum of the weights that are >= threshold.
double mass_at_least(std::span<const float> weights, float threshold);

}  // namespace troupe
