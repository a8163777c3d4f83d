// Internal to the CPU backend: the vectorised kernels, one table per instruction set. The
// backend validates shapes, splits the work among threads and calls these on its share.
#pragma once

#include <cstdint>

#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/backend/tensor.hpp"

namespace troupe::cpu {

// out[i, j] = sum_p x[i, p] * w[j, p] (+ bias[j]); all strides in elements.
struct linear_args {
  const float* x = nullptr;  // [n, k], row stride x_stride
  std::int64_t x_stride = 0;
  const void* w = nullptr;  // [m, k] of w_type, row stride w_stride
  dtype w_type = dtype::f32;
  std::int64_t w_stride = 0;
  const float* bias = nullptr;  // [m] or null
  float* out = nullptr;         // [n, m], row stride out_stride
  std::int64_t out_stride = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t m = 0;
};

// Paged causal attention; see backend::attention. The caches are [num_slots, num_kv_heads *
// head_dim] f32 with row stride kv_stride; slot = block_tables[seq, pos / block_size] *
// block_size + pos % block_size.
struct attention_args {
  const float* q = nullptr;  // [num_tokens, num_heads * head_dim]
  std::int64_t q_stride = 0;
  float* out = nullptr;  // like q
  std::int64_t out_stride = 0;
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  std::int64_t k_stride = 0;
  std::int64_t v_stride = 0;
  std::int32_t num_heads = 0;
  std::int32_t num_kv_heads = 0;
  std::int32_t head_dim = 0;
  float scale = 1.0f;
  const std::int32_t* query_start = nullptr;   // [num_seqs + 1]
  const std::int32_t* context_lens = nullptr;  // [num_seqs]
  const std::int32_t* block_tables = nullptr;  // [num_seqs, max_blocks_per_seq]
  std::int32_t max_blocks_per_seq = 0;
  std::int32_t block_size = 0;
};

// One unit of attention work: query tokens [q_begin, q_end) (indices into the step's tokens) of
// sequence seq, all query heads that share kv head kv_head.
struct attention_item {
  std::int32_t seq = 0;
  std::int32_t kv_head = 0;
  std::int32_t q_begin = 0;
  std::int32_t q_end = 0;
};

// Floats of per-thread scratch attention_fn needs for items of up to max_queries queries.
std::int64_t attention_scratch_floats(const attention_args& args, std::int32_t max_queries);

struct kernel_table {
  cpu_isa isa = cpu_isa::scalar;
  // Linear with few rows: each weight row is streamed once for all rows of x. Computes output
  // columns [col_begin, col_end).
  void (*gemv)(const linear_args& args, std::int64_t col_begin, std::int64_t col_end) = nullptr;
  // Linear with many rows, in two passes. gemm_pack_x writes x^T in row blocks of gemm_mr rows:
  // packed[(block * k + p) * gemm_mr + i] = x[block * gemm_mr + i, p], zero past row n; it packs
  // blocks [block_begin, block_end). gemm then computes output columns [col_begin, col_end)
  // (col_begin a multiple of gemm_nr) using per-thread scratch of gemm_scratch_floats(k) floats.
  std::int64_t gemm_mr = 0;
  std::int64_t gemm_nr = 0;
  std::int64_t (*gemm_scratch_floats)(std::int64_t k) = nullptr;
  void (*gemm_pack_x)(const linear_args& args, float* packed, std::int64_t block_begin,
                      std::int64_t block_end) = nullptr;
  void (*gemm)(const linear_args& args, const float* packed, std::int64_t col_begin,
               std::int64_t col_end, float* scratch) = nullptr;
  // sum_i a[i] * b[i], f32 accumulation.
  float (*dot)(const float* a, const float* b, std::int64_t count) = nullptr;
  // dst[0..count) = src[0..count) widened to f32.
  void (*convert_row)(float* dst, const void* src, dtype type, std::int64_t count) = nullptr;
  void (*attention)(const attention_args& args, const attention_item& item, float* scratch) = nullptr;
};

// The kernel set `isa` (not automatic); null when not compiled in or not supported here.
const kernel_table* kernels_for(cpu_isa isa);

extern const kernel_table scalar_kernels;
extern const kernel_table avx2_kernels;
extern const kernel_table avx512_kernels;

// bf16-dot GEMM (cpu_backend_options::bf16_dot_products): args.w_type must be bf16. Packs x
// rounded to bf16 in pairs: packed[(block * k2 + p2) * 32 + i] holds x[block*32+i, 2p2..2p2+1]
// (k2 = ceil(k / 2)) as two bf16 in one 32-bit word. Null in the table when unsupported.
// gemm's per-thread scratch holds scratch_bytes(k) bytes.
struct bf16_dot_kernels {
  std::int64_t mr = 0;
  std::int64_t nr = 0;
  std::int64_t (*scratch_bytes)(std::int64_t k) = nullptr;
  void (*pack_x)(const linear_args& args, std::uint32_t* packed, std::int64_t block_begin,
                 std::int64_t block_end) = nullptr;
  void (*gemm)(const linear_args& args, const std::uint32_t* packed, std::int64_t col_begin,
               std::int64_t col_end, void* scratch) = nullptr;
};
extern const bf16_dot_kernels avx512_bf16_dot_kernels;
const bf16_dot_kernels* bf16_dot_kernels_if_supported();

}  // namespace troupe::cpu
