// Internal to the CPU backend: the kernels, written once over a SIMD `Ops` type. Each
// kernels_<isa>.cpp defines its Ops (under `#pragma GCC target` for its instruction set, after
// including the standard headers) and then includes this file, so every instantiation is
// compiled for exactly one instruction set and named by its Ops type.
//
// Ops provides:
//   vec, width                                  a vector of `width` floats
//   zero(), set1(f), load(p), store(p, v)        unaligned loads and stores
//   load_partial(p, n), store_partial(p, v, n)   the first n < width lanes, zeros beyond
//   load_bf16(p), load_f16(p) (+ _partial)       widen 16-bit floats to a vec
//   fma(a, b, c) = a * b + c, add(a, b), reduce_add(v)
//   gemv_regs, gemv_rows: vector registers for a gemv tile, rows of x per gemv tile
//   gemm_mv, gemm_nr, gemm_kc: gemm micro-tile (gemm_mv * width rows x gemm_nr columns), k block
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "engine/backend/cpu/kernels.hpp"

namespace troupe::cpu::impl {
// Internal linkage on purpose: each kernels_<isa>.cpp compiles its own copy for its instruction set.
namespace {

struct w_f32 { using elem = float; };
struct w_bf16 { using elem = std::uint16_t; };
struct w_f16 { using elem = std::uint16_t; };

template <class Ops, class W>
inline typename Ops::vec load_w(const typename W::elem* p) {
  if constexpr (std::is_same_v<W, w_f32>) return Ops::load(p);
  else if constexpr (std::is_same_v<W, w_bf16>) return Ops::load_bf16(p);
  else return Ops::load_f16(p);
}

template <class Ops, class W>
inline typename Ops::vec load_w_partial(const typename W::elem* p, int count) {
  if constexpr (std::is_same_v<W, w_f32>) return Ops::load_partial(p, count);
  else if constexpr (std::is_same_v<W, w_bf16>) return Ops::load_bf16_partial(p, count);
  else return Ops::load_f16_partial(p, count);
}

template <class Ops, class W>
void convert_w(float* dst, const typename W::elem* src, std::int64_t count) {
  std::int64_t p = 0;
  for (; p + Ops::width <= count; p += Ops::width) Ops::store(dst + p, load_w<Ops, W>(src + p));
  if (p < count) {
    const int rest = static_cast<int>(count - p);
    Ops::store_partial(dst + p, load_w_partial<Ops, W>(src + p, rest), rest);
  }
}

template <class Ops>
void convert_row(float* dst, const void* src, dtype type, std::int64_t count) {
  switch (type) {
    case dtype::f32: convert_w<Ops, w_f32>(dst, static_cast<const float*>(src), count); return;
    case dtype::bf16: convert_w<Ops, w_bf16>(dst, static_cast<const std::uint16_t*>(src), count); return;
    case dtype::f16: convert_w<Ops, w_f16>(dst, static_cast<const std::uint16_t*>(src), count); return;
  }
}

// --- gemv: few rows ------------------------------------------------------------------------------

// Register budget of gemv: a tile of R rows x C columns holds R*C accumulators, C widened weight
// vectors and one x vector.
template <class Ops>
inline constexpr int gemv_cols(int rows) {
  return std::min(8, (Ops::gemv_regs - 1) / (rows + 1));
}

// res[r][c] = dot(x row r, w row c) over k, R rows x C columns in registers. Each weight vector
// is widened once per k step and used by all R rows.
template <class Ops, class W, int R, int C>
inline void gemv_tile(const float* const* xr, const typename W::elem* const* wr, std::int64_t k,
                      float (&res)[R][C]) {
  using vec = typename Ops::vec;
  vec acc[R][C];
  _Pragma("GCC unroll 16")
  for (int r = 0; r < R; ++r)
    _Pragma("GCC unroll 16")
    for (int c = 0; c < C; ++c) acc[r][c] = Ops::zero();
  std::int64_t p = 0;
  for (; p + Ops::width <= k; p += Ops::width) {
    vec wv[C];
    _Pragma("GCC unroll 16")
    for (int c = 0; c < C; ++c) wv[c] = load_w<Ops, W>(wr[c] + p);
    _Pragma("GCC unroll 16")
    for (int r = 0; r < R; ++r) {
      vec xv = Ops::load(xr[r] + p);
      // Keep x in a register: folded into each FMA it would be loaded C times.
      if constexpr (sizeof(vec) >= 32) asm("" : "+v"(xv));
      _Pragma("GCC unroll 16")
      for (int c = 0; c < C; ++c) acc[r][c] = Ops::fma(xv, wv[c], acc[r][c]);
    }
  }
  if (p < k) {
    const int rest = static_cast<int>(k - p);
    vec wv[C];
    _Pragma("GCC unroll 16")
    for (int c = 0; c < C; ++c) wv[c] = load_w_partial<Ops, W>(wr[c] + p, rest);
    _Pragma("GCC unroll 16")
    for (int r = 0; r < R; ++r) {
      const vec xv = Ops::load_partial(xr[r] + p, rest);
      _Pragma("GCC unroll 16")
      for (int c = 0; c < C; ++c) acc[r][c] = Ops::fma(xv, wv[c], acc[r][c]);
    }
  }
  _Pragma("GCC unroll 16")
  for (int r = 0; r < R; ++r)
    _Pragma("GCC unroll 16")
    for (int c = 0; c < C; ++c) res[r][c] = Ops::reduce_add(acc[r][c]);
}

// Rows [i0, i0 + R) x columns [j0, j0 + C) of the output; columns clamped to num_cols valid
// ones: out-of-range columns repeat the last valid one and are not stored.
template <class Ops, class W, int R, int C>
inline void gemv_block(const linear_args& a, std::int64_t i0, std::int64_t j0, std::int64_t num_cols) {
  const auto* w = static_cast<const typename W::elem*>(a.w);
  const float* xr[R];
  const typename W::elem* wr[C];
  for (int r = 0; r < R; ++r) xr[r] = a.x + (i0 + r) * a.x_stride;
  for (int c = 0; c < C; ++c) wr[c] = w + (j0 + std::min<std::int64_t>(c, num_cols - 1)) * a.w_stride;
  float res[R][C];
  gemv_tile<Ops, W, R, C>(xr, wr, a.k, res);
  for (int r = 0; r < R; ++r) {
    float* out = a.out + (i0 + r) * a.out_stride + j0;
    for (std::int64_t c = 0; c < std::min<std::int64_t>(C, num_cols); ++c)
      out[c] = res[r][c] + (a.bias != nullptr ? a.bias[j0 + c] : 0.0f);
  }
}

// Columns [j0, j0 + num_cols) (at most C) for every row: full groups of Ops::gemv_rows rows, then
// one group of the rest, each a single register tile. Every output element is the same sum in
// the same order whatever the tile, so results do not depend on the column split.
template <class Ops, class W, int C, int R = Ops::gemv_rows>
inline void gemv_rest(const linear_args& a, std::int64_t i0, std::int64_t rows, std::int64_t j0,
                      std::int64_t num_cols) {
  if constexpr (R >= 1) {
    if (rows == R) gemv_block<Ops, W, R, C>(a, i0, j0, num_cols);
    else gemv_rest<Ops, W, C, R - 1>(a, i0, rows, j0, num_cols);
  }
}

template <class Ops, class W, int C>
inline void gemv_columns(const linear_args& a, std::int64_t j0, std::int64_t num_cols) {
  constexpr int rows = Ops::gemv_rows;
  std::int64_t i0 = 0;
  for (; a.n - i0 >= rows; i0 += rows) gemv_block<Ops, W, rows, C>(a, i0, j0, num_cols);
  if (i0 < a.n) gemv_rest<Ops, W, C>(a, i0, a.n - i0, j0, num_cols);
}

// One row of x against weight rows [j0, j0 + num_cols) in turn: each weight row is a single
// sequential stream (consecutive rows are adjacent in memory), which the hardware prefetcher
// follows across rows; several rows at once would be streams of one 4 KiB page each.
template <class Ops, class W>
inline void gemv_one_row(const linear_args& a, std::int64_t i, std::int64_t j0, std::int64_t num_cols) {
  using vec = typename Ops::vec;
  constexpr int unroll = 4;
  const auto* w = static_cast<const typename W::elem*>(a.w);
  const float* x = a.x + i * a.x_stride;
  float* out = a.out + i * a.out_stride;
  for (std::int64_t j = j0; j < j0 + num_cols; ++j) {
    const typename W::elem* wr = w + j * a.w_stride;
    vec acc[unroll];
    for (int u = 0; u < unroll; ++u) acc[u] = Ops::zero();
    std::int64_t p = 0;
    for (; p + unroll * Ops::width <= a.k; p += unroll * Ops::width)
      for (int u = 0; u < unroll; ++u)
        acc[u] = Ops::fma(Ops::load(x + p + u * Ops::width), load_w<Ops, W>(wr + p + u * Ops::width), acc[u]);
    for (; p + Ops::width <= a.k; p += Ops::width) acc[0] = Ops::fma(Ops::load(x + p), load_w<Ops, W>(wr + p), acc[0]);
    if (p < a.k) {
      const int rest = static_cast<int>(a.k - p);
      acc[1] = Ops::fma(Ops::load_partial(x + p, rest), load_w_partial<Ops, W>(wr + p, rest), acc[1]);
    }
    for (int u = 1; u < unroll; ++u) acc[0] = Ops::add(acc[0], acc[u]);
    out[j] = Ops::reduce_add(acc[0]) + (a.bias != nullptr ? a.bias[j] : 0.0f);
  }
}

// Column chunks sized for the widest row tile; rows run inside a chunk so its weight rows are
// read from memory once and from L1 by the other row groups.
template <class Ops, class W, int C>
void gemv_chunks(const linear_args& a, std::int64_t col_begin, std::int64_t col_end) {
  for (std::int64_t j0 = col_begin; j0 < col_end; j0 += C)
    gemv_columns<Ops, W, C>(a, j0, std::min<std::int64_t>(C, col_end - j0));
}

template <class Ops, class W, int R = Ops::gemv_rows>
void gemv_dispatch(const linear_args& a, std::int64_t col_begin, std::int64_t col_end) {
  if constexpr (R >= 2) {
    if (a.n >= R) gemv_chunks<Ops, W, gemv_cols<Ops>(R)>(a, col_begin, col_end);
    else gemv_dispatch<Ops, W, R - 1>(a, col_begin, col_end);
  }
}

template <class Ops, class W>
void gemv_typed(const linear_args& a, std::int64_t col_begin, std::int64_t col_end) {
  constexpr int strip = 8;
  if (a.n >= 2) {
    gemv_dispatch<Ops, W>(a, col_begin, col_end);
    return;
  }
  for (std::int64_t j0 = col_begin; j0 < col_end; j0 += strip)
    gemv_one_row<Ops, W>(a, 0, j0, std::min<std::int64_t>(strip, col_end - j0));
}

template <class Ops>
void gemv(const linear_args& a, std::int64_t col_begin, std::int64_t col_end) {
  switch (a.w_type) {
    case dtype::f32: gemv_typed<Ops, w_f32>(a, col_begin, col_end); return;
    case dtype::bf16: gemv_typed<Ops, w_bf16>(a, col_begin, col_end); return;
    case dtype::f16: gemv_typed<Ops, w_f16>(a, col_begin, col_end); return;
  }
}

// --- gemm: many rows -----------------------------------------------------------------------------

template <class Ops>
inline constexpr std::int64_t gemm_mr = Ops::gemm_mv * Ops::width;

// Scratch floats of gemm for inner dimension k: the f32 weight strip (k rounded up to whole k
// blocks) and one output micro-tile.
template <class Ops>
std::int64_t gemm_scratch_floats(std::int64_t k) {
  const std::int64_t num_k_blocks = (k + Ops::gemm_kc - 1) / Ops::gemm_kc;
  return Ops::gemm_nr * Ops::gemm_kc * num_k_blocks + Ops::gemm_nr * gemm_mr<Ops>;
}

template <class Ops>
void gemm_pack_x(const linear_args& a, float* packed, std::int64_t block_begin, std::int64_t block_end) {
  constexpr std::int64_t mr = gemm_mr<Ops>;
  for (std::int64_t b = block_begin; b < block_end; ++b) {
    float* dst = packed + b * a.k * mr;
    for (std::int64_t i = 0; i < mr; ++i) {
      const std::int64_t row = b * mr + i;
      if (row < a.n) {
        const float* src = a.x + row * a.x_stride;
        for (std::int64_t p = 0; p < a.k; ++p) dst[p * mr + i] = src[p];
      } else {
        for (std::int64_t p = 0; p < a.k; ++p) dst[p * mr + i] = 0.0f;
      }
    }
  }
}

// tile[j][i] = sum_p xt[p][i] * w[j][p] over all k: gemm_mr rows x gemm_nr columns, accumulated
// in registers. xt: [k][gemm_mr] (packed x). wt: the weight strip in k blocks,
//   wt = [block 0: [gemm_nr][gemm_kc]] [block 1: [gemm_nr][gemm_kc]] ...   (f32, zero padded)
// so that within a block every column is a constant offset from one pointer.
// tile: [gemm_nr][gemm_mr].
template <class Ops>
inline void gemm_micro(const float* xt, const float* wt, std::int64_t k, float* tile) {
  using vec = typename Ops::vec;
  constexpr int mv = Ops::gemm_mv;
  constexpr int nr = Ops::gemm_nr;
  constexpr std::int64_t kc_max = Ops::gemm_kc;
  constexpr std::int64_t mr = gemm_mr<Ops>;
  vec acc[nr][mv];
  for (int j = 0; j < nr; ++j)
    for (int v = 0; v < mv; ++v) acc[j][v] = Ops::zero();
  for (std::int64_t pc = 0; pc < k; pc += kc_max, wt += nr * kc_max) {
    const std::int64_t kc = std::min(kc_max, k - pc);
    for (std::int64_t p = 0; p < kc; ++p, xt += mr) {
      vec xv[mv];
      for (int v = 0; v < mv; ++v) xv[v] = Ops::load(xt + v * Ops::width);
      for (int j = 0; j < nr; ++j) {
        const vec wv = Ops::set1(wt[j * kc_max + p]);
        for (int v = 0; v < mv; ++v) acc[j][v] = Ops::fma(xv[v], wv, acc[j][v]);
      }
    }
  }
  for (int j = 0; j < nr; ++j)
    for (int v = 0; v < mv; ++v) Ops::store(tile + j * mr + v * Ops::width, acc[j][v]);
}

// out[i0 + i, j0 + j] = tile[j][i] (+ bias[j0 + j]) for the valid rows and columns.
inline void gemm_store_tile(const linear_args& a, const float* tile, std::int64_t mr, std::int64_t i0,
                            std::int64_t num_rows, std::int64_t j0, std::int64_t num_cols) {
  for (std::int64_t i = 0; i < num_rows; ++i) {
    float* out = a.out + (i0 + i) * a.out_stride + j0;
    for (std::int64_t j = 0; j < num_cols; ++j)
      out[j] = tile[j * mr + i] + (a.bias != nullptr ? a.bias[j0 + j] : 0.0f);
  }
}

// For each strip of gemm_nr output columns: widen the strip's weights once (they stay in L2),
// then sweep every row block of packed x over the whole k.
template <class Ops, class W>
void gemm_typed(const linear_args& a, const float* packed, std::int64_t col_begin, std::int64_t col_end,
                float* scratch) {
  constexpr std::int64_t mr = gemm_mr<Ops>;
  constexpr std::int64_t nr = Ops::gemm_nr;
  constexpr std::int64_t kc_max = Ops::gemm_kc;
  const auto* w = static_cast<const typename W::elem*>(a.w);
  const std::int64_t num_k_blocks = (a.k + kc_max - 1) / kc_max;
  float* wt = scratch;
  float* tile = scratch + nr * kc_max * num_k_blocks;
  const std::int64_t num_blocks = (a.n + mr - 1) / mr;
  for (std::int64_t j0 = col_begin; j0 < col_end; j0 += nr) {
    const std::int64_t num_cols = std::min(nr, col_end - j0);
    for (std::int64_t pc = 0; pc < a.k; pc += kc_max) {
      const std::int64_t kc = std::min(kc_max, a.k - pc);
      float* block = wt + pc * nr;
      for (std::int64_t j = 0; j < nr; ++j) {
        if (j < num_cols) convert_w<Ops, W>(block + j * kc_max, w + (j0 + j) * a.w_stride + pc, kc);
        else std::fill(block + j * kc_max, block + j * kc_max + kc, 0.0f);
      }
    }
    for (std::int64_t b = 0; b < num_blocks; ++b) {
      gemm_micro<Ops>(packed + b * a.k * mr, wt, a.k, tile);
      gemm_store_tile(a, tile, mr, b * mr, std::min(mr, a.n - b * mr), j0, num_cols);
    }
  }
}

template <class Ops>
void gemm(const linear_args& a, const float* packed, std::int64_t col_begin, std::int64_t col_end,
          float* scratch) {
  switch (a.w_type) {
    case dtype::f32: gemm_typed<Ops, w_f32>(a, packed, col_begin, col_end, scratch); return;
    case dtype::bf16: gemm_typed<Ops, w_bf16>(a, packed, col_begin, col_end, scratch); return;
    case dtype::f16: gemm_typed<Ops, w_f16>(a, packed, col_begin, col_end, scratch); return;
  }
}

// --- attention -----------------------------------------------------------------------------------

template <class Ops>
inline float dot(const float* a, const float* b, std::int64_t d) {
  typename Ops::vec acc = Ops::zero();
  std::int64_t c = 0;
  for (; c + Ops::width <= d; c += Ops::width) acc = Ops::fma(Ops::load(a + c), Ops::load(b + c), acc);
  if (c < d) {
    const int rest = static_cast<int>(d - c);
    acc = Ops::fma(Ops::load_partial(a + c, rest), Ops::load_partial(b + c, rest), acc);
  }
  return Ops::reduce_add(acc);
}

// acc = acc * corr + sum_j probs[j] * v[j]   (acc: [d], v rows j < num_keys at stride v_stride)
template <class Ops>
inline void accumulate_values(float* acc, float corr, const float* probs, const float* v, std::int64_t v_stride,
                              std::int32_t num_keys, std::int64_t d) {
  using vec = typename Ops::vec;
  const vec corr_v = Ops::set1(corr);
  std::int64_t c = 0;
  for (; c + Ops::width <= d; c += Ops::width) {
    vec sum = Ops::fma(Ops::load(acc + c), corr_v, Ops::zero());
    for (std::int32_t j = 0; j < num_keys; ++j) sum = Ops::fma(Ops::set1(probs[j]), Ops::load(v + j * v_stride + c), sum);
    Ops::store(acc + c, sum);
  }
  if (c < d) {
    const int rest = static_cast<int>(d - c);
    vec sum = Ops::fma(Ops::load_partial(acc + c, rest), corr_v, Ops::zero());
    for (std::int32_t j = 0; j < num_keys; ++j)
      sum = Ops::fma(Ops::set1(probs[j]), Ops::load_partial(v + j * v_stride + c, rest), sum);
    Ops::store_partial(acc + c, sum, rest);
  }
}

// Online-softmax attention of one item. Rows r = query * group + g (g: query head within the kv
// head's group) each keep a running max, a running sum and an unnormalised output [head_dim].
// Scratch layout: acc [rows][head_dim] | row_max [rows] | row_sum [rows] | probs [block_size].
template <class Ops>
void attention(const attention_args& a, const attention_item& item, float* scratch) {
  const std::int32_t group = a.num_heads / a.num_kv_heads;
  const std::int64_t d = a.head_dim;
  const std::int32_t num_queries = item.q_end - item.q_begin;
  const std::int32_t num_rows = num_queries * group;
  float* acc = scratch;
  float* row_max = acc + num_rows * d;
  float* row_sum = row_max + num_rows;
  float* probs = row_sum + num_rows;
  std::fill(acc, acc + num_rows * d, 0.0f);
  std::fill(row_max, row_max + num_rows, -std::numeric_limits<float>::infinity());
  std::fill(row_sum, row_sum + num_rows, 0.0f);

  const std::int32_t seq_start = a.query_start[item.seq];
  const std::int32_t first_pos = a.context_lens[item.seq] - (a.query_start[item.seq + 1] - seq_start);
  const std::int32_t last_pos = first_pos + (item.q_end - 1 - seq_start);
  const std::int32_t* table = a.block_tables + static_cast<std::int64_t>(item.seq) * a.max_blocks_per_seq;
  for (std::int32_t kb = 0; kb * a.block_size <= last_pos; ++kb) {
    const std::int32_t key0 = kb * a.block_size;
    const std::int64_t slot0 = static_cast<std::int64_t>(table[kb]) * a.block_size;
    const float* k_block = a.k_cache + slot0 * a.k_stride + item.kv_head * d;
    const float* v_block = a.v_cache + slot0 * a.v_stride + item.kv_head * d;
    for (std::int32_t qi = 0; qi < num_queries; ++qi) {
      const std::int32_t t = item.q_begin + qi;
      const std::int32_t num_visible = std::min(a.block_size, first_pos + (t - seq_start) + 1 - key0);
      if (num_visible <= 0) continue;
      for (std::int32_t g = 0; g < group; ++g) {
        const std::int32_t r = qi * group + g;
        const float* q = a.q + t * a.q_stride + (item.kv_head * group + g) * d;
        float block_max = -std::numeric_limits<float>::infinity();
        for (std::int32_t j = 0; j < num_visible; ++j) {
          probs[j] = dot<Ops>(q, k_block + j * a.k_stride, d) * a.scale;
          block_max = std::max(block_max, probs[j]);
        }
        const float new_max = std::max(row_max[r], block_max);
        const float corr = std::exp(row_max[r] - new_max);
        float block_sum = 0.0f;
        for (std::int32_t j = 0; j < num_visible; ++j) {
          probs[j] = std::exp(probs[j] - new_max);
          block_sum += probs[j];
        }
        row_sum[r] = row_sum[r] * corr + block_sum;
        row_max[r] = new_max;
        accumulate_values<Ops>(acc + r * d, corr, probs, v_block, a.v_stride, num_visible, d);
      }
    }
  }
  for (std::int32_t qi = 0; qi < num_queries; ++qi) {
    const std::int32_t t = item.q_begin + qi;
    for (std::int32_t g = 0; g < group; ++g) {
      const std::int32_t r = qi * group + g;
      const float inv_sum = 1.0f / row_sum[r];
      float* out = a.out + t * a.out_stride + (item.kv_head * group + g) * d;
      for (std::int64_t c = 0; c < d; ++c) out[c] = acc[r * d + c] * inv_sum;
    }
  }
}

template <class Ops>
constexpr kernel_table make_kernel_table(cpu_isa isa) {
  kernel_table table;
  table.isa = isa;
  table.gemv = &gemv<Ops>;
  table.gemm_mr = gemm_mr<Ops>;
  table.gemm_nr = Ops::gemm_nr;
  table.gemm_scratch_floats = &gemm_scratch_floats<Ops>;
  table.gemm_pack_x = &gemm_pack_x<Ops>;
  table.gemm = &gemm<Ops>;
  table.dot = &dot<Ops>;
  table.convert_row = &convert_row<Ops>;
  table.attention = &attention<Ops>;
  return table;
}

}  // namespace
}  // namespace troupe::cpu::impl
