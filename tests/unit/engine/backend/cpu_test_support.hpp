// Helpers for the CPU backend tests: backends per kernel set, random data, 16-bit weights, and
// the error bound the kernels are held to.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/backend/backend.hpp"
#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/common/half.hpp"

namespace troupe::testing {

inline constexpr cpu_isa all_isas[] = {cpu_isa::scalar, cpu_isa::avx2, cpu_isa::avx512};

inline std::unique_ptr<backend> make_backend(cpu_isa isa, std::int32_t num_threads, bool bf16_dot = false) {
  auto made = make_cpu_backend({.num_threads = num_threads, .isa = isa, .bf16_dot_products = bf16_dot});
  EXPECT_TRUE(made.has_value());
  return made ? std::move(made).value() : nullptr;
}

inline std::vector<float> random_floats(std::size_t count, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (auto& f : v) f = dist(rng);
  return v;
}

// 16-bit conversions come from engine/common/half.hpp (scalar, round to nearest even).
inline std::uint16_t to_bf16_bits(float f) { return f32_to_bf16(f); }
inline float from_bf16_bits(std::uint16_t bits) { return bf16_to_f32(bits); }
inline std::uint16_t to_f16_bits(float f) { return f32_to_f16(f); }
inline float from_f16_bits(std::uint16_t bits) { return f16_to_f32(bits); }

// A weight matrix in one dtype: the raw bytes the backend reads, and the f32 values they hold.
struct typed_matrix {
  dtype type = dtype::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  std::vector<std::uint16_t> bits;  // f16 / bf16
  std::vector<float> floats;        // f32
  std::vector<float> values;        // rows x row_stride, what the backend should see

  tensor view() {
    void* data = type == dtype::f32 ? static_cast<void*>(floats.data()) : static_cast<void*>(bits.data());
    return tensor{data, type, rows, cols, row_stride};
  }
  float at(std::int64_t r, std::int64_t c) const { return values[static_cast<std::size_t>(r * row_stride + c)]; }
};

inline typed_matrix make_matrix(dtype type, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                                std::uint32_t seed) {
  typed_matrix m{type, rows, cols, row_stride, {}, {}, random_floats(static_cast<std::size_t>(rows * row_stride), seed)};
  if (type == dtype::f32) {
    m.floats = m.values;
    return m;
  }
  m.bits.resize(m.values.size());
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    m.bits[i] = type == dtype::bf16 ? to_bf16_bits(m.values[i]) : to_f16_bits(m.values[i]);
    m.values[i] = type == dtype::bf16 ? from_bf16_bits(m.bits[i]) : from_f16_bits(m.bits[i]);
  }
  return m;
}

inline std::string isa_param_name(cpu_isa isa) { return std::string(cpu_isa_name(isa)); }

inline std::string dtype_param_name(dtype t) { return std::string(dtype_name(t)); }

}  // namespace troupe::testing
