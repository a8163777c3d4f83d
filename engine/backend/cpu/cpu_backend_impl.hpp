// Internal to the CPU backend: the backend class. Its operations are split over cpu_backend.cpp
// (memory, step layout, linear, attention) and cpu_ops.cpp (the row-wise operations).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/backend/backend.hpp"
#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/backend/cpu/kernels.hpp"
#include "engine/common/thread_pool.hpp"

namespace troupe {

// 64-byte aligned host memory that only grows (scratch reused across operations and steps).
class aligned_scratch {
 public:
  aligned_scratch() = default;
  aligned_scratch(aligned_scratch&& other) noexcept;
  aligned_scratch& operator=(aligned_scratch&&) = delete;
  aligned_scratch(const aligned_scratch&) = delete;
  ~aligned_scratch();

  // At least size_bytes bytes; contents are not preserved when it grows.
  void* reserve(std::size_t size_bytes);
  float* floats(std::int64_t count) { return static_cast<float*>(reserve(static_cast<std::size_t>(count) * 4)); }

 private:
  void* data_ = nullptr;
  std::size_t size_bytes_ = 0;
};

class cpu_backend final : public backend {
 public:
  cpu_backend(const cpu_backend_options& options, const cpu::kernel_table& kernels);

  std::string_view name() const override { return "cpu"; }
  dtype activation_dtype() const override { return dtype::f32; }
  std::int32_t num_threads() const { return pool_.num_threads(); }
  cpu_isa isa() const { return kernels_.isa; }

  result<device_buffer> allocate(std::size_t size_bytes) override;
  result<tensor> upload_weight(const tensor& host) override;
  result<kv_cache> allocate_kv(const kv_cache_shape& shape) override;
  void write(const tensor& dst, const void* host_src) override;
  void read(void* host_dst, const tensor& src) override;

  void begin_step(const batch_layout& layout) override;
  void embed(const tensor& out, const tensor& table) override;
  void rms_norm(const tensor& out, const tensor& x, const tensor& weight, float eps) override;
  void add_rms_norm(const tensor& out, const tensor& residual, const tensor& delta, const tensor& weight,
                    float eps) override;
  void head_rms_norm(const tensor& x, const tensor& weight, float eps) override;
  void linear(const tensor& out, const tensor& x, const tensor& weight, const tensor& bias) override;
  void rope(const tensor& x, const rope_table& table) override;
  void write_kv(const kv_layer& cache, const tensor& k, const tensor& v) override;
  void attention(const tensor& out, const tensor& q, const kv_layer& cache, std::int32_t num_heads,
                 std::int32_t num_kv_heads, std::int32_t head_dim, float scale) override;
  void silu_mul(const tensor& out, const tensor& gate, const tensor& up) override;
  void gather_rows(const tensor& out, const tensor& x) override;

 protected:
  void deallocate(void* data, std::size_t size_bytes) override;

 private:
  // Runs fn over [0, n) on the pool when the operation does about `work` multiply-adds or more
  // than parallel_min_work of them, else on the calling thread.
  void parallel_for(std::int64_t n, std::int64_t work, thread_pool::range_fn fn);
  // Grows every thread's scratch to at least size_bytes (called before a parallel loop).
  void reserve_thread_scratch(std::size_t size_bytes);
  // An f32 view of a 1 x d weight (norm weights, biases), converted into `scratch` if needed.
  const float* f32_vector(const tensor& v, aligned_scratch& scratch);
  void linear_gemm(const cpu::linear_args& args);
  void linear_bf16_dot(const cpu::linear_args& args);

  cpu_backend_options options_;
  const cpu::kernel_table& kernels_;
  const cpu::bf16_dot_kernels* bf16_dot_ = nullptr;  // null unless enabled and supported
  thread_pool pool_;
  batch_layout layout_;
  std::vector<cpu::attention_item> attention_tiles_;  // kv_head left 0: items are tiles x kv heads
  std::vector<aligned_scratch> thread_scratch_;       // one per pool thread
  aligned_scratch packed_x_;                          // gemm: x^T, shared by the threads
  aligned_scratch weight_f32_;                        // norm weight widened to f32
  aligned_scratch bias_f32_;                          // linear bias widened to f32
};

}  // namespace troupe
