// Shapes of the models `troupe make-model` can generate: a `tiny` per architecture for tests and
// the real shapes of released models. Also the Hugging Face tensor layout of a model_config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"
#include "engine/model/model_config.hpp"

namespace troupe {

// The sizes model_preset accepts for `arch`, e.g. {"tiny", "1b", "8b", "70b"} for llama.
std::vector<std::string> model_preset_sizes(model_arch arch);

// The model_config of `size` for `arch` (see model_preset_sizes). Tiny presets have
// vocab_size 0: the caller sets it to the tokenizer's. bos/eos ids and torch_dtype are left for
// the caller. Unknown size: invalid_argument listing the valid ones.
result<model_config> model_preset(model_arch arch, std::string_view size);

// What a tensor is, which decides how a random checkpoint initialises it.
enum class hf_tensor_kind { embedding, matrix, norm, bias };

struct hf_tensor_spec {
  std::string name;                 // e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<std::int64_t> shape;  // as stored: [out_features, in_features] for matrices
  hf_tensor_kind kind = hf_tensor_kind::matrix;
};

// Whether o_proj has a bias: Llama and Qwen3 tie it to attention_bias; Qwen2 never has one.
bool has_o_proj_bias(const model_config& config);

// Every tensor of a Hugging Face checkpoint of `config`, in module order (embeddings, layers,
// final norm, lm_head). lm_head.weight is listed when embeddings are untied, or when
// `include_tied_lm_head` (some tied checkpoints store a copy).
std::vector<hf_tensor_spec> hf_tensor_layout(const model_config& config, bool include_tied_lm_head);

}  // namespace troupe
