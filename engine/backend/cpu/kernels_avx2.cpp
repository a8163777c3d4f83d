// AVX2 + FMA + F16C kernels (8 floats per vector). Only the functions defined after the
// `#pragma GCC target` below use these instructions; the standard headers are included first so
// that no inline library function is compiled for AVX2 (the linker could pick that copy for
// callers on other CPUs).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

// GCC 12's _mm512_undefined_* read an uninitialised variable on purpose (GCC bug 105593); the
// warning it triggers points into the intrinsics headers, so it is silenced for them only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "engine/backend/cpu/kernels.hpp"

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace troupe::cpu {
namespace {

struct avx2_ops {
  using vec = __m256;
  static constexpr int width = 8;
  static constexpr int gemv_regs = 14;
  static constexpr int gemv_rows = 4;
  static constexpr int gemm_mv = 2;
  static constexpr int gemm_nr = 6;
  static constexpr std::int64_t gemm_kc = 256;

  static __m256i lane_mask(int count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static vec zero() { return _mm256_setzero_ps(); }
  static vec set1(float f) { return _mm256_set1_ps(f); }
  static vec load(const float* p) { return _mm256_loadu_ps(p); }
  static vec load_partial(const float* p, int count) { return _mm256_maskload_ps(p, lane_mask(count)); }
  static void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
  static void store_partial(float* p, vec v, int count) { _mm256_maskstore_ps(p, lane_mask(count), v); }
  static vec load_bf16(const std::uint16_t* p) {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
  static vec load_bf16_partial(const std::uint16_t* p, int count) {
    std::uint16_t buffer[width] = {};
    std::memcpy(buffer, p, static_cast<std::size_t>(count) * sizeof(std::uint16_t));
    return load_bf16(buffer);
  }
  static vec load_f16(const std::uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static vec load_f16_partial(const std::uint16_t* p, int count) {
    std::uint16_t buffer[width] = {};
    std::memcpy(buffer, p, static_cast<std::size_t>(count) * sizeof(std::uint16_t));
    return load_f16(buffer);
  }
  static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
  static float reduce_add(vec v) {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
  }
};

}  // namespace
}  // namespace troupe::cpu

#include "engine/backend/cpu/kernels_impl.hpp"

namespace troupe::cpu {

const kernel_table avx2_kernels = impl::make_kernel_table<avx2_ops>(cpu_isa::avx2);

}  // namespace troupe::cpu

#pragma GCC pop_options
