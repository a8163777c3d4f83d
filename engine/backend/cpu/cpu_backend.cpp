#include "engine/backend/cpu/cpu_backend.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <sys/mman.h>

#include "engine/backend/cpu/cpu_backend_impl.hpp"

namespace troupe {
namespace {

constexpr std::size_t alignment_bytes = 64;
// Below this many multiply-adds an operation runs on the calling thread (waking the pool costs
// a few microseconds).
constexpr std::int64_t parallel_min_work = 1 << 15;
// Queries per attention work item (times the query heads of a kv head).
constexpr std::int32_t attention_tile_queries = 16;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Allocations this large come straight from mmap: page-aligned, and zero pages that cost nothing
// until touched (a 1 GiB KV cache is ready at once instead of after a 1 GiB memset).
constexpr std::size_t mmap_threshold_bytes = std::size_t{1} << 20;

}  // namespace

aligned_scratch::aligned_scratch(aligned_scratch&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_bytes_(std::exchange(other.size_bytes_, 0)) {}

aligned_scratch::~aligned_scratch() { std::free(data_); }

void* aligned_scratch::reserve(std::size_t size_bytes) {
  if (size_bytes > size_bytes_) {
    std::free(data_);
    size_bytes_ = round_up(std::max<std::size_t>(size_bytes, size_bytes_ * 3 / 2), alignment_bytes);
    data_ = std::aligned_alloc(alignment_bytes, size_bytes_);
    if (data_ == nullptr) {
      // Scratch is a few MiB at most; running out of it is not recoverable inside an operation.
      std::abort();
    }
  }
  return data_;
}

result<std::unique_ptr<backend>> make_cpu_backend(const cpu_backend_options& options) {
  if (options.num_threads < 0)
    return make_error(errc::invalid_argument, "cpu backend: num_threads is {}, expected 0 (all) or more",
                      options.num_threads);
  cpu_isa isa = options.isa;
  if (isa == cpu_isa::automatic) {
    isa = cpu_supports(cpu_isa::avx512) ? cpu_isa::avx512
          : cpu_supports(cpu_isa::avx2) ? cpu_isa::avx2
                                        : cpu_isa::scalar;
  }
  const cpu::kernel_table* kernels = cpu::kernels_for(isa);
  if (kernels == nullptr)
    return make_error(errc::unsupported, "cpu backend: this CPU cannot run the {} kernels", cpu_isa_name(isa));
  cpu_backend_options resolved = options;
  if (resolved.num_threads == 0)
    resolved.num_threads = std::max<std::int32_t>(1, static_cast<std::int32_t>(std::thread::hardware_concurrency()));
  return std::unique_ptr<backend>(std::make_unique<cpu_backend>(resolved, *kernels));
}

cpu_backend::cpu_backend(const cpu_backend_options& options, const cpu::kernel_table& kernels)
    : options_(options), kernels_(kernels), pool_(options.num_threads) {
  if (options.bf16_dot_products && kernels.isa == cpu_isa::avx512) bf16_dot_ = cpu::bf16_dot_kernels_if_supported();
  thread_scratch_.resize(static_cast<std::size_t>(pool_.num_threads()));
}

// --- memory --------------------------------------------------------------------------------------

result<device_buffer> cpu_backend::allocate(std::size_t size_bytes) {
  const std::size_t rounded = round_up(std::max<std::size_t>(size_bytes, 1), alignment_bytes);
  void* data = nullptr;
  if (rounded >= mmap_threshold_bytes) {
    data = ::mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) data = nullptr;
  } else {
    data = std::aligned_alloc(alignment_bytes, rounded);
  }
  if (data == nullptr)
    return make_error(errc::out_of_memory, "cpu backend: cannot allocate {} bytes of host memory", size_bytes);
  return device_buffer(this, data, size_bytes);
}

void cpu_backend::deallocate(void* data, std::size_t size_bytes) {
  const std::size_t rounded = round_up(std::max<std::size_t>(size_bytes, 1), alignment_bytes);
  if (rounded >= mmap_threshold_bytes) {
    ::munmap(data, rounded);
  } else {
    std::free(data);
  }
}

result<tensor> cpu_backend::upload_weight(const tensor& host) { return host; }

result<kv_cache> cpu_backend::allocate_kv(const kv_cache_shape& shape) {
  if (shape.type != dtype::f32)
    return make_error(errc::unsupported, "cpu backend: KV cache of type {} (only F32 is implemented)",
                      dtype_name(shape.type));
  if (shape.num_layers <= 0 || shape.num_blocks <= 0 || shape.block_size <= 0 || shape.num_kv_heads <= 0 ||
      shape.head_dim <= 0)
    return make_error(errc::invalid_argument,
                      "cpu backend: KV cache shape has a non-positive dimension (layers {}, blocks {}, "
                      "block size {}, kv heads {}, head dim {})",
                      shape.num_layers, shape.num_blocks, shape.block_size, shape.num_kv_heads, shape.head_dim);
  const std::int64_t width = static_cast<std::int64_t>(shape.num_kv_heads) * shape.head_dim;
  const std::int64_t layer_floats = 2 * shape.num_slots() * width;
  TROUPE_ASSIGN_OR_RETURN(device_buffer storage, allocate(static_cast<std::size_t>(shape.num_layers * layer_floats) * 4));
  // mmap'd buffers are zero already.
  if (storage.size_bytes() < mmap_threshold_bytes) std::memset(storage.data(), 0, storage.size_bytes());
  kv_cache cache{shape, std::move(storage), {}};
  auto* base = static_cast<float*>(cache.storage.data());
  for (std::int32_t l = 0; l < shape.num_layers; ++l) {
    float* k = base + l * layer_floats;
    float* v = k + shape.num_slots() * width;
    cache.layers.push_back(kv_layer{tensor::contiguous(k, dtype::f32, shape.num_slots(), width),
                                    tensor::contiguous(v, dtype::f32, shape.num_slots(), width)});
  }
  return cache;
}

void cpu_backend::write(const tensor& dst, const void* host_src) {
  const std::size_t row_bytes = static_cast<std::size_t>(dst.cols) * dtype_size_bytes(dst.type);
  const auto* src = static_cast<const std::byte*>(host_src);
  for (std::int64_t r = 0; r < dst.rows; ++r) std::memcpy(dst.row<std::byte>(0) + r * dst.row_stride * dtype_size_bytes(dst.type), src + r * row_bytes, row_bytes);
}

void cpu_backend::read(void* host_dst, const tensor& src) {
  const std::size_t row_bytes = static_cast<std::size_t>(src.cols) * dtype_size_bytes(src.type);
  auto* dst = static_cast<std::byte*>(host_dst);
  for (std::int64_t r = 0; r < src.rows; ++r) std::memcpy(dst + r * row_bytes, src.row<std::byte>(0) + r * src.row_stride * dtype_size_bytes(src.type), row_bytes);
}

// --- step ----------------------------------------------------------------------------------------

void cpu_backend::begin_step(const batch_layout& layout) {
  layout_ = layout;
  attention_tiles_.clear();
  for (std::int64_t s = 0; s < layout.num_seqs(); ++s) {
    const auto seq = static_cast<std::int32_t>(s);
    for (std::int32_t t = layout.query_start[s]; t < layout.query_start[s + 1]; t += attention_tile_queries)
      attention_tiles_.push_back({seq, 0, t, std::min(t + attention_tile_queries, layout.query_start[s + 1])});
  }
}

void cpu_backend::parallel_for(std::int64_t n, std::int64_t work, thread_pool::range_fn fn) {
  if (work < parallel_min_work || pool_.num_threads() == 1) {
    if (n > 0) fn(0, n, 0);
    return;
  }
  pool_.parallel_for(n, fn);
}

void cpu_backend::reserve_thread_scratch(std::size_t size_bytes) {
  for (auto& scratch : thread_scratch_) scratch.reserve(size_bytes);
}

const float* cpu_backend::f32_vector(const tensor& v, aligned_scratch& scratch) {
  if (v.type == dtype::f32) return static_cast<const float*>(v.data);
  float* dst = scratch.floats(v.cols);
  kernels_.convert_row(dst, v.data, v.type, v.cols);
  return dst;
}

// --- linear --------------------------------------------------------------------------------------

void cpu_backend::linear(const tensor& out, const tensor& x, const tensor& weight, const tensor& bias) {
  assert(x.type == dtype::f32 && out.type == dtype::f32);
  assert(weight.cols == x.cols && out.rows == x.rows && out.cols == weight.rows);
  assert(bias.empty() || bias.cols == weight.rows);
  cpu::linear_args args{.x = static_cast<const float*>(x.data),
                        .x_stride = x.row_stride,
                        .w = weight.data,
                        .w_type = weight.type,
                        .w_stride = weight.row_stride,
                        .bias = bias.empty() ? nullptr : f32_vector(bias, bias_f32_),
                        .out = static_cast<float*>(out.data),
                        .out_stride = out.row_stride,
                        .n = x.rows,
                        .k = x.cols,
                        .m = weight.rows};
  if (args.n == 0 || args.m == 0) return;
  // Measured on Zen 4: gemv keeps up with gemm up to about two gemm row blocks (64 rows), where
  // gemm's packing and padding stop costing more than its better register reuse saves.
  if (bf16_dot_ != nullptr && args.w_type == dtype::bf16 && args.n >= bf16_dot_->mr) {
    linear_bf16_dot(args);
    return;
  }
  if (args.n >= 2 * kernels_.gemm_mr) {
    linear_gemm(args);
    return;
  }
  constexpr std::int64_t strip_cols = 8;
  const std::int64_t num_strips = (args.m + strip_cols - 1) / strip_cols;
  parallel_for(num_strips, args.n * args.k * args.m, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    kernels_.gemv(args, begin * strip_cols, std::min(end * strip_cols, args.m));
  });
}

void cpu_backend::linear_gemm(const cpu::linear_args& args) {
  const std::int64_t mr = kernels_.gemm_mr;
  const std::int64_t nr = kernels_.gemm_nr;
  const std::int64_t num_blocks = (args.n + mr - 1) / mr;
  float* packed = packed_x_.floats(num_blocks * mr * args.k);
  parallel_for(num_blocks, args.n * args.k, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    kernels_.gemm_pack_x(args, packed, begin, end);
  });
  reserve_thread_scratch(static_cast<std::size_t>(kernels_.gemm_scratch_floats(args.k)) * 4);
  const std::int64_t num_strips = (args.m + nr - 1) / nr;
  parallel_for(num_strips, args.n * args.k * args.m, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    float* scratch = static_cast<float*>(thread_scratch_[static_cast<std::size_t>(worker)].reserve(0));
    kernels_.gemm(args, packed, begin * nr, std::min(end * nr, args.m), scratch);
  });
}

void cpu_backend::linear_bf16_dot(const cpu::linear_args& args) {
  const std::int64_t mr = bf16_dot_->mr;
  const std::int64_t nr = bf16_dot_->nr;
  const std::int64_t num_blocks = (args.n + mr - 1) / mr;
  const std::int64_t k_pairs = (args.k + 1) / 2;
  auto* packed = static_cast<std::uint32_t*>(packed_x_.reserve(static_cast<std::size_t>(num_blocks * mr * k_pairs) * 4));
  parallel_for(num_blocks, args.n * args.k, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    bf16_dot_->pack_x(args, packed, begin, end);
  });
  reserve_thread_scratch(static_cast<std::size_t>(bf16_dot_->scratch_bytes(args.k)));
  const std::int64_t num_strips = (args.m + nr - 1) / nr;
  parallel_for(num_strips, args.n * args.k * args.m, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    void* scratch = thread_scratch_[static_cast<std::size_t>(worker)].reserve(0);
    bf16_dot_->gemm(args, packed, begin * nr, std::min(end * nr, args.m), scratch);
  });
}

// --- attention -----------------------------------------------------------------------------------

void cpu_backend::attention(const tensor& out, const tensor& q, const kv_layer& cache, std::int32_t num_heads,
                            std::int32_t num_kv_heads, std::int32_t head_dim, float scale) {
  assert(num_kv_heads > 0 && num_heads % num_kv_heads == 0);
  assert(q.cols == static_cast<std::int64_t>(num_heads) * head_dim && out.cols == q.cols);
  assert(cache.k.type == dtype::f32 && cache.k.cols == static_cast<std::int64_t>(num_kv_heads) * head_dim);
  const cpu::attention_args args{.q = static_cast<const float*>(q.data),
                                 .q_stride = q.row_stride,
                                 .out = static_cast<float*>(out.data),
                                 .out_stride = out.row_stride,
                                 .k_cache = static_cast<const float*>(cache.k.data),
                                 .v_cache = static_cast<const float*>(cache.v.data),
                                 .k_stride = cache.k.row_stride,
                                 .v_stride = cache.v.row_stride,
                                 .num_heads = num_heads,
                                 .num_kv_heads = num_kv_heads,
                                 .head_dim = head_dim,
                                 .scale = scale,
                                 .query_start = layout_.query_start.data(),
                                 .context_lens = layout_.context_lens.data(),
                                 .block_tables = layout_.block_tables.data(),
                                 .max_blocks_per_seq = layout_.max_blocks_per_seq,
                                 .block_size = layout_.block_size};
  reserve_thread_scratch(static_cast<std::size_t>(cpu::attention_scratch_floats(args, attention_tile_queries)) * 4);
  const auto num_items = static_cast<std::int64_t>(attention_tiles_.size()) * num_kv_heads;
  auto run_items = [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    auto* scratch = static_cast<float*>(thread_scratch_[static_cast<std::size_t>(worker)].reserve(0));
    for (std::int64_t i = begin; i < end; ++i) {
      cpu::attention_item item = attention_tiles_[static_cast<std::size_t>(i / num_kv_heads)];
      item.kv_head = static_cast<std::int32_t>(i % num_kv_heads);
      kernels_.attention(args, item, scratch);
    }
  };
  std::int64_t work = 0;
  for (std::int64_t s = 0; s < layout_.num_seqs(); ++s)
    work += static_cast<std::int64_t>(layout_.query_start[s + 1] - layout_.query_start[s]) * layout_.context_lens[s];
  if (work * num_heads * head_dim < parallel_min_work || pool_.num_threads() == 1) {
    run_items(0, num_items, 0);
  } else {
    pool_.parallel_for_dynamic(num_items, 1, run_items);
  }
}

}  // namespace troupe
