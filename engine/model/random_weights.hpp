// Deterministic random weights for generated checkpoints. Element i of a tensor is a pure function
// of (seed, tensor name, i) through a counter-based splitmix64, so any chunking or threading of the
// generation gives the same bytes.
//
//   embedding, matrix: uniform in [-1, 1) / sqrt(fan_in)   (fan_in = shape[1]; activations stay O(1))
//   norm:              1 + uniform in [-0.1, 0.1)
//   bias:              uniform in [-0.02, 0.02)
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend/tensor.hpp"
#include "engine/model/model_presets.hpp"

namespace troupe {

struct random_tensor_init {
  std::uint64_t key = 0;  // from the seed and the tensor name
  float offset = 0.0f;
  float scale = 1.0f;     // value = offset + scale * u, u uniform in [-1, 1)
};

random_tensor_init random_init_for(const hf_tensor_spec& spec, std::uint64_t seed);

// Writes elements [first_element, first_element + num_elements) of the tensor, converted to `type`
// (bf16 and f16 rounded to nearest even), to `out` (num_elements * dtype_size_bytes(type) bytes).
void fill_random(const random_tensor_init& init, dtype type, std::int64_t first_element, std::int64_t num_elements,
                 std::byte* out);

// Round-to-nearest-even conversions used by fill_random (exposed for tests).
std::uint16_t float_to_bf16(float value);
std::uint16_t float_to_f16(float value);

}  // namespace troupe
