#include "engine/sampling/logit_kernels.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <limits>

namespace troupe {
namespace {

constexpr std::size_t block_size = 16;             // floats per step: four float4 registers
constexpr std::size_t num_blocks_per_partial = 16;  // float partial sums restart every 256 floats

float4 load(const float* p) {
  float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void store(float* p, float4 v) { std::memcpy(p, &v, sizeof v); }

float horizontal_sum(float4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

}  // namespace

float max_logit(std::span<const float> logits) {
  assert(!logits.empty());
  constexpr float lowest = -std::numeric_limits<float>::infinity();
  std::array<float4, 4> lanes;
  lanes.fill(float4{} + lowest);
  const std::size_t num_full = logits.size() / block_size * block_size;
  for (std::size_t i = 0; i < num_full; i += block_size) {
    for (std::size_t k = 0; k < 4; ++k) {
      const float4 x = load(&logits[i + 4 * k]);
      lanes[k] = x > lanes[k] ? x : lanes[k];  // a NaN x keeps the lane
    }
  }
  float best = lowest;
  for (const float4 lane : lanes) {
    for (int j = 0; j < 4; ++j) best = lane[j] > best ? lane[j] : best;
  }
  for (std::size_t i = num_full; i < logits.size(); ++i) best = logits[i] > best ? logits[i] : best;
  return best;
}

std::size_t next_at_least(std::span<const float> values, float threshold, std::size_t from) {
  std::size_t i = from;
  // Whole blocks are skipped with four vector compares until one holds a hit.
  for (; i + block_size <= values.size(); i += block_size) {
    int4 hits{};
    for (std::size_t k = 0; k < 4; ++k) hits |= load(&values[i + 4 * k]) >= threshold;
    if ((hits[0] | hits[1] | hits[2] | hits[3]) != 0) break;
  }
  for (; i < values.size(); ++i) {
    if (values[i] >= threshold) return i;
  }
  return values.size();
}

token_id argmax_lowest_id(std::span<const float> logits) {
  const std::size_t index = next_at_least(logits, max_logit(logits), 0);
  return index == logits.size() ? 0 : static_cast<token_id>(index);
}

double exp_weights(std::span<const float> logits, float max, float inv_temperature,
                   std::span<float> weights) {
  assert(weights.size() == logits.size());
  const std::size_t num_full = logits.size() / block_size * block_size;
  double total = 0.0;
  float4 partial{};
  for (std::size_t i = 0, block = 1; i < num_full; i += block_size, ++block) {
    for (std::size_t k = 0; k < 4; ++k) {
      const float4 x = load(&logits[i + 4 * k]);
      const float4 w = exp_nonpositive<float4>((x - max) * inv_temperature);
      store(&weights[i + 4 * k], w);
      partial += w;
    }
    if (block % num_blocks_per_partial == 0 || i + block_size == num_full) {
      total += horizontal_sum(partial);
      partial = float4{};
    }
  }
  for (std::size_t i = num_full; i < logits.size(); ++i) {
    weights[i] = exp_nonpositive((logits[i] - max) * inv_temperature);
    total += weights[i];
  }
  return total;
}

double mass_at_least(std::span<const float> weights, float threshold) {
  const std::size_t num_full = weights.size() / block_size * block_size;
  double total = 0.0;
  float4 partial{};
  for (std::size_t i = 0, block = 1; i < num_full; i += block_size, ++block) {
    for (std::size_t k = 0; k < 4; ++k) {
      const float4 w = load(&weights[i + 4 * k]);
      partial += w >= threshold ? w : float4{};
    }
    if (block % num_blocks_per_partial == 0 || i + block_size == num_full) {
      total += horizontal_sum(partial);
      partial = float4{};
    }
  }
  for (std::size_t i = num_full; i < weights.size(); ++i) {
    total += weights[i] >= threshold ? weights[i] : 0.0f;
  }
  return total;
}

}  // namespace troupe
