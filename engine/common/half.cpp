#include "engine/common/half.hpp"

#include <cmath>

namespace troupe {

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = (std::uint32_t{h} & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero and subnormals
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  std::uint32_t u;
  std::memcpy(&u, &magnitude, sizeof u);
  u |= sign;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::uint16_t f32_to_f16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.0f) return sign | 0x7c00u;  // rounds to infinity
  if (a < 6.103515625e-05f) {                 // subnormal range: multiples of 2^-24
    return sign | static_cast<std::uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  int exponent;
  const float m = std::frexp(a, &exponent);  // a = m * 2^exponent, m in [0.5, 1)
  auto mantissa = static_cast<std::uint32_t>(std::nearbyint((m * 2.0f - 1.0f) * 1024.0f));
  std::uint32_t biased = static_cast<std::uint32_t>(exponent - 1 + 15);
  if (mantissa == 1024) { mantissa = 0; ++biased; }
  return sign | static_cast<std::uint16_t>((biased << 10) | mantissa);
}

void to_f32(const tensor& src, float* dst) {
  // Checkpoint data need not be aligned: read 16-bit values with memcpy.
  for (std::int64_t r = 0; r < src.rows; ++r) {
    float* out = dst + r * src.cols;
    const auto* in = static_cast<const unsigned char*>(src.data) +
                     r * src.row_stride * static_cast<std::int64_t>(dtype_size_bytes(src.type));
    if (src.type == dtype::f32) {
      std::memcpy(out, in, static_cast<std::size_t>(src.cols) * sizeof(float));
      continue;
    }
    for (std::int64_t c = 0; c < src.cols; ++c) {
      std::uint16_t bits;
      std::memcpy(&bits, in + 2 * c, sizeof bits);
      out[c] = src.type == dtype::bf16 ? bf16_to_f32(bits) : f16_to_f32(bits);
    }
  }
}

}  // namespace troupe
