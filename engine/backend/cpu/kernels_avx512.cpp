// AVX-512 kernels (16 floats per vector; AVX512F/BW/VL, FMA, F16C), and the opt-in bf16 dot
// product GEMM (AVX512_BF16). Standard headers come before the `#pragma GCC target` so that no
// inline library function is compiled for AVX-512 (see kernels_avx2.cpp).
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
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")

namespace troupe::cpu {
namespace {

struct avx512_ops {
  using vec = __m512;
  static constexpr int width = 16;
  static constexpr int gemv_regs = 30;
  static constexpr int gemv_rows = 4;
  static constexpr int gemm_mv = 2;
  static constexpr int gemm_nr = 12;
  static constexpr std::int64_t gemm_kc = 256;

  static __mmask16 lane_mask(int count) { return static_cast<__mmask16>((1u << count) - 1u); }
  static vec zero() { return _mm512_setzero_ps(); }
  static vec set1(float f) { return _mm512_set1_ps(f); }
  static vec load(const float* p) { return _mm512_loadu_ps(p); }
  static vec load_partial(const float* p, int count) { return _mm512_maskz_loadu_ps(lane_mask(count), p); }
  static void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
  static void store_partial(float* p, vec v, int count) { _mm512_mask_storeu_ps(p, lane_mask(count), v); }
  static vec widen_bf16(__m256i bits) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
  static vec load_bf16(const std::uint16_t* p) {
    return widen_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static vec load_bf16_partial(const std::uint16_t* p, int count) {
    return widen_bf16(_mm256_maskz_loadu_epi16(lane_mask(count), p));
  }
  static vec load_f16(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static vec load_f16_partial(const std::uint16_t* p, int count) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lane_mask(count), p));
  }
  static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
  static vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
  static float reduce_add(vec v) { return _mm512_reduce_add_ps(v); }
};

}  // namespace
}  // namespace troupe::cpu

#include "engine/backend/cpu/kernels_impl.hpp"

namespace troupe::cpu {

const kernel_table avx512_kernels = impl::make_kernel_table<avx512_ops>(cpu_isa::avx512);

}  // namespace troupe::cpu

// --- bf16 dot products (opt-in) ------------------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")

namespace troupe::cpu {
namespace {

constexpr std::int64_t bf16_mv = 2;
constexpr std::int64_t bf16_mr = bf16_mv * 16;
constexpr std::int64_t bf16_nr = 12;
constexpr std::int64_t bf16_kc_pairs = 256;  // k block, in pairs of elements

std::int64_t bf16_scratch_bytes(std::int64_t k) {
  const std::int64_t num_k_blocks = ((k + 1) / 2 + bf16_kc_pairs - 1) / bf16_kc_pairs;
  return (bf16_nr * bf16_kc_pairs * num_k_blocks + bf16_nr * bf16_mr) * 4;
}

// Round to nearest even (NaN stays NaN).
std::uint32_t round_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

void bf16_pack_x(const linear_args& a, std::uint32_t* packed, std::int64_t block_begin, std::int64_t block_end) {
  const std::int64_t k_pairs = (a.k + 1) / 2;
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    std::uint32_t* dst = packed + b * k_pairs * bf16_mr;
    for (std::int64_t i = 0; i < bf16_mr; ++i) {
      const std::int64_t row = b * bf16_mr + i;
      const float* src = row < a.n ? a.x + row * a.x_stride : nullptr;
      for (std::int64_t p = 0; p < k_pairs; ++p) {
        const std::uint32_t lo = src != nullptr ? round_to_bf16(src[2 * p]) : 0u;
        const std::uint32_t hi = src != nullptr && 2 * p + 1 < a.k ? round_to_bf16(src[2 * p + 1]) : 0u;
        dst[p * bf16_mr + i] = lo | (hi << 16);
      }
    }
  }
}

// tile[j][i] = sum over all pairs p of xt[p][i] . w[j][p] (two bf16 products per pair), in
// registers. wt: the strip's weight pairs in k blocks, [block][bf16_nr][bf16_kc_pairs].
void bf16_micro(const std::uint32_t* xt, const std::uint32_t* wt, std::int64_t k_pairs, float* tile) {
  __m512 acc[bf16_nr][bf16_mv];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (std::int64_t pc = 0; pc < k_pairs; pc += bf16_kc_pairs, wt += bf16_nr * bf16_kc_pairs) {
    const std::int64_t kc = std::min(bf16_kc_pairs, k_pairs - pc);
    for (std::int64_t p = 0; p < kc; ++p, xt += bf16_mr) {
      __m512bh xv[bf16_mv];
      for (std::int64_t v = 0; v < bf16_mv; ++v) xv[v] = (__m512bh)_mm512_loadu_si512(xt + v * 16);
      for (std::int64_t j = 0; j < bf16_nr; ++j) {
        const __m512bh wv = (__m512bh)_mm512_set1_epi32(static_cast<int>(wt[j * bf16_kc_pairs + p]));
        for (std::int64_t v = 0; v < bf16_mv; ++v) acc[j][v] = _mm512_dpbf16_ps(acc[j][v], xv[v], wv);
      }
    }
  }
  for (std::int64_t j = 0; j < bf16_nr; ++j)
    for (std::int64_t v = 0; v < bf16_mv; ++v) _mm512_storeu_ps(tile + j * bf16_mr + v * 16, acc[j][v]);
}

void bf16_gemm(const linear_args& a, const std::uint32_t* packed, std::int64_t col_begin, std::int64_t col_end,
               void* scratch) {
  const auto* w = static_cast<const std::uint16_t*>(a.w);
  const std::int64_t k_pairs = (a.k + 1) / 2;
  const std::int64_t num_k_blocks = (k_pairs + bf16_kc_pairs - 1) / bf16_kc_pairs;
  auto* wt = static_cast<std::uint32_t*>(scratch);
  auto* tile = reinterpret_cast<float*>(wt + bf16_nr * bf16_kc_pairs * num_k_blocks);
  const std::int64_t num_blocks = (a.n + bf16_mr - 1) / bf16_mr;
  for (std::int64_t j0 = col_begin; j0 < col_end; j0 += bf16_nr) {
    const std::int64_t num_cols = std::min(bf16_nr, col_end - j0);
    for (std::int64_t pc = 0; pc < k_pairs; pc += bf16_kc_pairs) {
      const std::int64_t kc = std::min(bf16_kc_pairs, k_pairs - pc);
      const std::int64_t num_elements = std::min(2 * kc, a.k - 2 * pc);
      for (std::int64_t j = 0; j < bf16_nr; ++j) {
        std::uint32_t* dst = wt + pc * bf16_nr + j * bf16_kc_pairs;
        std::memset(dst, 0, static_cast<std::size_t>(kc) * 4);
        if (j < num_cols)
          std::memcpy(dst, w + (j0 + j) * a.w_stride + 2 * pc, static_cast<std::size_t>(num_elements) * 2);
      }
    }
    for (std::int64_t b = 0; b < num_blocks; ++b) {
      bf16_micro(packed + b * k_pairs * bf16_mr, wt, k_pairs, tile);
      impl::gemm_store_tile(a, tile, bf16_mr, b * bf16_mr, std::min(bf16_mr, a.n - b * bf16_mr), j0, num_cols);
    }
  }
}

}  // namespace

const bf16_dot_kernels avx512_bf16_dot_kernels{bf16_mr, bf16_nr, &bf16_scratch_bytes, &bf16_pack_x, &bf16_gemm};

}  // namespace troupe::cpu

#pragma GCC pop_options
#pragma GCC pop_options
