// Element types and the non-owning tensor view that the backend operations take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe {

enum class dtype : std::uint8_t { f32, f16, bf16 };

constexpr std::size_t dtype_size_bytes(dtype t) { return t == dtype::f32 ? 4 : 2; }
std::string_view dtype_name(dtype t);                      // "F32", "F16", "BF16" (safetensors names)
std::optional<dtype> dtype_from_name(std::string_view s);  // inverse of dtype_name

// A row-major 2-D view of memory that a backend can address (host memory for the CPU backend,
// device memory for CUDA). Vectors are 1 x n. It owns nothing: the backend, a device_buffer or a
// mapped checkpoint file keeps the bytes alive.
//
//   data -> row 0: [c0 c1 ... c(cols-1)] <padding up to row_stride elements>
//           row 1: ...
struct tensor {
  void* data = nullptr;
  dtype type = dtype::f32;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;  // elements from one row to the next (== cols when contiguous)

  static tensor contiguous(void* data, dtype type, std::int64_t rows, std::int64_t cols) {
    return tensor{data, type, rows, cols, cols};
  }
  bool empty() const { return data == nullptr; }
  std::int64_t num_elements() const { return rows * cols; }
  std::size_t size_bytes() const { return static_cast<std::size_t>(rows * row_stride) * dtype_size_bytes(type); }
  // Rows [first, first + count) as a view.
  tensor slice_rows(std::int64_t first, std::int64_t count) const {
    auto* base = static_cast<std::byte*>(data) + first * row_stride * static_cast<std::int64_t>(dtype_size_bytes(type));
    return tensor{base, type, count, cols, row_stride};
  }
  // Columns [first, first + count) as a strided view.
  tensor slice_cols(std::int64_t first, std::int64_t count) const {
    auto* base = static_cast<std::byte*>(data) + first * static_cast<std::int64_t>(dtype_size_bytes(type));
    return tensor{base, type, rows, count, row_stride};
  }
  template <class T>
  T* row(std::int64_t r) const { return static_cast<T*>(data) + r * row_stride; }
};

}  // namespace troupe
