// A Hugging Face checkpoint's weights, memory-mapped: `model.safetensors`, or the shards listed by
// `model.safetensors.index.json` ({"weight_map": {"<tensor>": "<shard file>"}}), all mapped at
// open() and validated (see safetensors.hpp). The checkpoint owns the mappings; tensor_info::data
// and the views returned by get() stay valid while it lives (moving it keeps them valid).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/tensor.hpp"
#include "engine/common/result.hpp"
#include "engine/model/mapped_file.hpp"
#include "engine/model/safetensors.hpp"

namespace troupe {

class checkpoint {
 public:
  // Prefers model.safetensors when both it and an index exist (as transformers does).
  static result<checkpoint> open(const std::filesystem::path& model_dir);

  // nullptr when there is no such tensor.
  const tensor_info* find(std::string_view name) const;
  // `name` as a 2-D host tensor view into the mapping (1-D tensors as 1 x n). The view is
  // read-only memory and possibly unaligned. Error (naming file, tensor, expected and actual shape)
  // when the tensor is missing or its shape differs from rows x cols.
  result<tensor> get(std::string_view name, std::int64_t rows, std::int64_t cols) const;
  std::vector<std::string> names() const;  // sorted
  std::size_t total_bytes() const;         // tensor data bytes, headers excluded
  std::size_t num_files() const { return files_.size(); }

 private:
  static result<checkpoint> open_single(const std::filesystem::path& file);
  static result<checkpoint> open_sharded(const std::filesystem::path& index_file);

  std::vector<mapped_file> files_;
  std::map<std::string, tensor_info, std::less<>> tensors_;
  std::filesystem::path dir_;
};

}  // namespace troupe
