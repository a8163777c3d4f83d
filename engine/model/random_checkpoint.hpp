// `troupe make-model`: a deterministic random-weight checkpoint at the real shapes of a model, in
// Hugging Face layout, with a real tokenizer copied in.
//
//   out_dir/config.json                     as transformers writes it for the architecture
//   out_dir/generation_config.json          bos/eos ids resolved from the tokenizer
//   out_dir/model.safetensors               or model-0000k-of-0000n.safetensors +
//                                           model.safetensors.index.json above max_shard_bytes
//   out_dir/tokenizer.json, tokenizer_config.json   copied from tokenizer_dir
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/backend/tensor.hpp"
#include "engine/common/result.hpp"
#include "engine/model/model_config.hpp"

namespace troupe {

struct random_checkpoint_options {
  model_arch arch = model_arch::llama;
  std::string size;  // one of random_checkpoint_sizes(arch)
  dtype type = dtype::bf16;
  std::uint64_t seed = 0;
  std::filesystem::path tokenizer_dir;  // holds tokenizer.json and tokenizer_config.json (required)
  std::filesystem::path out_dir;        // created when missing; old weight files in it are removed
  std::int64_t max_shard_bytes = 4LL << 30;
  bool write_tied_lm_head = false;      // also store lm_head.weight when embeddings are tied
};

// Writes the checkpoint and returns its config (equal to load_model_config(out_dir)). The same
// options always give identical bytes. Errors: unknown size (listing the valid ones), a tokenizer
// with ids beyond the model's vocab_size, unreadable tokenizer files, I/O failures.
result<model_config> write_random_checkpoint(const random_checkpoint_options& options);

// Sizes for `arch`: "tiny" (hidden 64, 2 layers, vocab = the tokenizer's) and real shapes:
// llama 1b/8b/70b (Llama 3.2/3.1), mistral 7b (v0.3), qwen2 0.5b/7b (Qwen2.5), qwen3 0.6b/8b.
std::vector<std::string> random_checkpoint_sizes(model_arch arch);

}  // namespace troupe
