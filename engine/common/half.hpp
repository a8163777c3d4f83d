// Conversions between f32 and the 16-bit float formats of checkpoints (scalar; for loading and
// tests, not for kernels: the backends have vectorised versions).
#pragma once

#include <cstdint>
#include <cstring>

#include "engine/backend/tensor.hpp"

namespace troupe {

inline float bf16_to_f32(std::uint16_t bits) {
  const std::uint32_t u = std::uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

float f16_to_f32(std::uint16_t bits);
std::uint16_t f32_to_f16(float f);

// Copies a host tensor of any dtype into a dense f32 array of rows * cols values.
void to_f32(const tensor& src, float* dst);

}  // namespace troupe
