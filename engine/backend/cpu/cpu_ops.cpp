// The row-wise operations of the CPU backend: embedding, norms, rotary embedding, SiLU-and-mul,
// KV writes and row gathers. Each splits its rows (or row chunks) among the threads.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "engine/backend/cpu/cpu_backend_impl.hpp"

namespace troupe {
namespace {

// out[i] = x[i] * inv_rms * w[i]; out may alias x.
void scale_row(float* out, const float* x, const float* w, float inv_rms, std::int64_t d) {
  for (std::int64_t i = 0; i < d; ++i) out[i] = w[i] * (x[i] * inv_rms);
}

float inv_rms(float sum_squares, std::int64_t d, float eps) {
  return 1.0f / std::sqrt(sum_squares / static_cast<float>(d) + eps);
}

}  // namespace

void cpu_backend::embed(const tensor& out, const tensor& table) {
  assert(out.cols == table.cols && out.rows == layout_.num_tokens());
  const std::size_t element_bytes = dtype_size_bytes(table.type);
  parallel_for(out.rows, out.rows * out.cols, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    for (std::int64_t t = begin; t < end; ++t) {
      const std::int32_t id = layout_.token_ids[static_cast<std::size_t>(t)];
      assert(id >= 0 && id < table.rows);
      const auto* src = static_cast<const std::byte*>(table.data) + id * table.row_stride * static_cast<std::int64_t>(element_bytes);
      kernels_.convert_row(out.row<float>(t), src, table.type, out.cols);
    }
  });
}

void cpu_backend::rms_norm(const tensor& out, const tensor& x, const tensor& weight, float eps) {
  assert(out.rows == x.rows && out.cols == x.cols && weight.cols == x.cols);
  const float* w = f32_vector(weight, weight_f32_);
  parallel_for(x.rows, x.rows * x.cols, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = x.row<float>(r);
      scale_row(out.row<float>(r), xr, w, inv_rms(kernels_.dot(xr, xr, x.cols), x.cols, eps), x.cols);
    }
  });
}

void cpu_backend::add_rms_norm(const tensor& out, const tensor& residual, const tensor& delta, const tensor& weight,
                               float eps) {
  assert(residual.rows == delta.rows && residual.cols == delta.cols && out.rows == residual.rows);
  const float* w = f32_vector(weight, weight_f32_);
  const std::int64_t d = residual.cols;
  parallel_for(residual.rows, residual.rows * d, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    for (std::int64_t r = begin; r < end; ++r) {
      float* res = residual.row<float>(r);
      const float* del = delta.row<float>(r);
      for (std::int64_t i = 0; i < d; ++i) res[i] += del[i];
      scale_row(out.row<float>(r), res, w, inv_rms(kernels_.dot(res, res, d), d, eps), d);
    }
  });
}

void cpu_backend::head_rms_norm(const tensor& x, const tensor& weight, float eps) {
  const std::int64_t head_dim = weight.cols;
  assert(head_dim > 0 && x.cols % head_dim == 0);
  const float* w = f32_vector(weight, weight_f32_);
  const std::int64_t num_heads = x.cols / head_dim;
  parallel_for(x.rows, x.rows * x.cols, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    for (std::int64_t r = begin; r < end; ++r) {
      for (std::int64_t h = 0; h < num_heads; ++h) {
        float* xh = x.row<float>(r) + h * head_dim;
        scale_row(xh, xh, w, inv_rms(kernels_.dot(xh, xh, head_dim), head_dim, eps), head_dim);
      }
    }
  });
}

// Rotate-half: for i < half, with angle = position * inv_freq[i] (f32, as Hugging Face computes it),
//   x[i]        <- x[i] * cos - x[i + half] * sin
//   x[i + half] <- x[i + half] * cos + x[i] * sin
void cpu_backend::rope(const tensor& x, const rope_table& table) {
  const std::int64_t head_dim = table.head_dim;
  const std::int64_t half = head_dim / 2;
  assert(head_dim > 0 && head_dim % 2 == 0 && x.cols % head_dim == 0 && table.inv_freq.cols == half);
  assert(x.rows == layout_.num_tokens());
  const auto* inv_freq = static_cast<const float*>(table.inv_freq.data);
  const std::int64_t num_heads = x.cols / head_dim;
  reserve_thread_scratch(static_cast<std::size_t>(2 * half) * 4);
  parallel_for(x.rows, x.rows * x.cols * 4, [&](std::int64_t begin, std::int64_t end, std::int32_t worker) {
    float* cos_sin = static_cast<float*>(thread_scratch_[static_cast<std::size_t>(worker)].reserve(0));
    for (std::int64_t t = begin; t < end; ++t) {
      const auto position = static_cast<float>(layout_.positions[static_cast<std::size_t>(t)]);
      for (std::int64_t i = 0; i < half; ++i) {
        const float angle = position * inv_freq[i];
        cos_sin[i] = std::cos(angle);
        cos_sin[half + i] = std::sin(angle);
      }
      for (std::int64_t h = 0; h < num_heads; ++h) {
        float* xh = x.row<float>(t) + h * head_dim;
        for (std::int64_t i = 0; i < half; ++i) {
          const float x1 = xh[i];
          const float x2 = xh[half + i];
          xh[i] = x1 * cos_sin[i] - x2 * cos_sin[half + i];
          xh[half + i] = x2 * cos_sin[i] + x1 * cos_sin[half + i];
        }
      }
    }
  });
}

void cpu_backend::write_kv(const kv_layer& cache, const tensor& k, const tensor& v) {
  assert(k.rows == layout_.num_tokens() && v.rows == k.rows);
  assert(k.cols == cache.k.cols && v.cols == cache.v.cols);
  const auto k_bytes = static_cast<std::size_t>(k.cols) * 4;
  const auto v_bytes = static_cast<std::size_t>(v.cols) * 4;
  for (std::int64_t t = 0; t < k.rows; ++t) {
    const std::int64_t slot = layout_.slot_mapping[static_cast<std::size_t>(t)];
    if (slot < 0) continue;  // padding token: no cache slot
    assert(slot < cache.k.rows);
    std::memcpy(cache.k.row<float>(slot), k.row<float>(t), k_bytes);
    std::memcpy(cache.v.row<float>(slot), v.row<float>(t), v_bytes);
  }
}

// out = gate * sigmoid(gate) * up, in chunks of columns so that a single row is split too.
void cpu_backend::silu_mul(const tensor& out, const tensor& gate, const tensor& up) {
  assert(out.rows == gate.rows && out.cols == gate.cols && up.rows == gate.rows && up.cols == gate.cols);
  constexpr std::int64_t chunk_cols = 1024;
  const std::int64_t num_chunks = (gate.cols + chunk_cols - 1) / chunk_cols;
  parallel_for(gate.rows * num_chunks, gate.rows * gate.cols * 8, [&](std::int64_t begin, std::int64_t end, std::int32_t) {
    for (std::int64_t item = begin; item < end; ++item) {
      const std::int64_t r = item / num_chunks;
      const std::int64_t c0 = item % num_chunks * chunk_cols;
      const std::int64_t c1 = std::min(gate.cols, c0 + chunk_cols);
      const float* g = gate.row<float>(r);
      const float* u = up.row<float>(r);
      float* o = out.row<float>(r);
      for (std::int64_t c = c0; c < c1; ++c) o[c] = g[c] / (1.0f + std::exp(-g[c])) * u[c];
    }
  });
}

void cpu_backend::gather_rows(const tensor& out, const tensor& x) {
  assert(out.rows == static_cast<std::int64_t>(layout_.logits_rows.size()) && out.cols == x.cols);
  const auto row_bytes = static_cast<std::size_t>(x.cols) * 4;
  for (std::int64_t i = 0; i < out.rows; ++i) {
    const std::int32_t row = layout_.logits_rows[static_cast<std::size_t>(i)];
    assert(row >= 0 && row < x.rows);
    std::memcpy(out.row<float>(i), x.row<float>(row), row_bytes);
  }
}

}  // namespace troupe
