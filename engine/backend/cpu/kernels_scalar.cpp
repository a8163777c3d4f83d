// Portable kernels: one float per "vector", for CPUs without AVX2 (and as the reference path).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "engine/backend/cpu/kernels.hpp"

namespace troupe::cpu {
namespace {

float bf16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t u = std::uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary16 -> binary32, exact (subnormals, infinities and NaN included).
float f16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  const std::uint32_t u = exponent == 0x1f ? (sign | 0x7f800000u | (mantissa << 13))
                                           : (sign | ((exponent + 112) << 23) | (mantissa << 13));
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

struct scalar_ops {
  using vec = float;
  static constexpr int width = 1;
  static constexpr int gemv_regs = 14;
  static constexpr int gemv_rows = 4;
  static constexpr int gemm_mv = 4;
  static constexpr int gemm_nr = 4;
  static constexpr std::int64_t gemm_kc = 256;

  static vec zero() { return 0.0f; }
  static vec set1(float f) { return f; }
  static vec load(const float* p) { return *p; }
  static vec load_partial(const float* p, int count) { return count > 0 ? *p : 0.0f; }
  static void store(float* p, vec v) { *p = v; }
  static void store_partial(float* p, vec v, int count) {
    if (count > 0) *p = v;
  }
  static vec load_bf16(const std::uint16_t* p) { return bf16_bits_to_float(*p); }
  static vec load_bf16_partial(const std::uint16_t* p, int count) { return count > 0 ? load_bf16(p) : 0.0f; }
  static vec load_f16(const std::uint16_t* p) { return f16_bits_to_float(*p); }
  static vec load_f16_partial(const std::uint16_t* p, int count) { return count > 0 ? load_f16(p) : 0.0f; }
  static vec add(vec a, vec b) { return a + b; }
  static vec fma(vec a, vec b, vec c) { return a * b + c; }
  static float reduce_add(vec v) { return v; }
};

}  // namespace
}  // namespace troupe::cpu

#include "engine/backend/cpu/kernels_impl.hpp"

namespace troupe::cpu {

const kernel_table scalar_kernels = impl::make_kernel_table<scalar_ops>(cpu_isa::scalar);

}  // namespace troupe::cpu
