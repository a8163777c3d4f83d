// The safetensors format, read through a memory mapping and fully validated:
//
//   [ u64 little-endian N ][ N bytes of JSON header ][ data region ............................ ]
//   header: {"__metadata__": {...}, "<name>": {"dtype": "BF16", "shape": [r, c],
//            "data_offsets": [begin, end]}, ...}      offsets are relative to the data region
//
// Reading accepts BF16, F16 and F32 tensors; any other dtype is `unsupported` (naming the tensor
// and the file). Writing helpers lay tensors out back to back, in the order given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/tensor.hpp"
#include "engine/common/result.hpp"
#include "engine/model/mapped_file.hpp"

namespace troupe {

// One tensor of a mapped checkpoint. `data` points into a mapping owned elsewhere (a
// safetensors_file or a checkpoint); it is read-only and may be unaligned.
struct tensor_info {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;
  std::size_t size_bytes = 0;
  std::string file;  // path of the safetensors file holding it
};

// A validated, mapped safetensors file. `tensors` point into `mapping`, sorted by data offset.
struct safetensors_file {
  mapped_file mapping;
  std::vector<tensor_info> tensors;
};

result<safetensors_file> open_safetensors(const std::filesystem::path& path);

// Validates the whole file image `bytes` (length prefix, header JSON, every entry against the data
// region) and returns its tensors pointing into `bytes`. `file` names the source in errors.
result<std::vector<tensor_info>> parse_safetensors(std::span<const std::byte> bytes, std::string_view file);

// --- writing -------------------------------------------------------------------------------------
struct safetensors_entry {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;

  std::size_t size_bytes() const;
};

// The bytes that precede the data region (u64 length + JSON header padded with spaces to a
// multiple of 8) for `entries` laid out back to back in the given order, with
// "__metadata__": {"format": "pt"} as PyTorch writes it.
std::string safetensors_header(std::span<const safetensors_entry> entries);

}  // namespace troupe
