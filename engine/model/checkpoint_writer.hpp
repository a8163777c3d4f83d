// Streams random weights (random_weights.hpp) into safetensors files: one model.safetensors, or
// shards of at most max_shard_bytes of tensor data (a larger single tensor gets a shard of its
// own) named model-0000k-of-0000n.safetensors plus model.safetensors.index.json, as transformers'
// save_pretrained lays them out. Generation runs on all cores, overlapped with large writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "engine/backend/tensor.hpp"
#include "engine/common/result.hpp"
#include "engine/model/model_presets.hpp"

namespace troupe {

struct weight_write_options {
  dtype type = dtype::bf16;
  std::uint64_t seed = 0;
  std::int64_t max_shard_bytes = 4LL << 30;
  std::filesystem::path out_dir;
};

// Writes `specs` in the given order. Same inputs, same bytes.
status write_random_weights(std::span<const hf_tensor_spec> specs, const weight_write_options& options);

}  // namespace troupe
