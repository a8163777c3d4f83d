// Hugging Face config.json (+ generation_config.json) -> model_config, the plain description of a
// dense decoder-only transformer that the rest of troupe reads. Only what troupe implements is
// accepted: anything else is an `unsupported` error naming the file, the field and the value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/tensor.hpp"
#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe {

enum class model_arch { llama, mistral, qwen2, qwen3 };

std::string_view model_arch_name(model_arch arch);                  // "llama", "mistral", ...
std::optional<model_arch> model_arch_from_name(std::string_view s);  // inverse of model_arch_name

// Llama 3.1 "llama3" rope scaling: low frequencies divided by `factor`, smooth in between.
struct llama3_rope_scaling {
  float factor = 8.0f;
  float low_freq_factor = 1.0f;
  float high_freq_factor = 4.0f;
  std::int32_t original_max_position_embeddings = 8192;

  bool operator==(const llama3_rope_scaling&) const = default;
};

struct model_config {
  std::string architecture{};  // "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"
  model_arch arch = model_arch::llama;
  std::int32_t hidden_size = 0;
  std::int32_t intermediate_size = 0;
  std::int32_t num_hidden_layers = 0;
  std::int32_t num_attention_heads = 0;
  std::int32_t num_key_value_heads = 0;  // divides num_attention_heads
  std::int32_t head_dim = 0;             // may differ from hidden_size / num_attention_heads (Qwen3)
  std::int32_t vocab_size = 0;
  std::int32_t max_position_embeddings = 0;
  float rms_norm_eps = 1e-6f;
  double rope_theta = 10000.0;
  std::optional<llama3_rope_scaling> rope_scaling{};
  bool attention_bias = false;  // q/k/v biases (Qwen2 always; Llama/Qwen3 when attention_bias: true)
  bool qk_norm = false;         // Qwen3 q_norm/k_norm, applied per head before RoPE
  bool tie_word_embeddings = false;
  dtype torch_dtype = dtype::f32;
  std::optional<token_id> bos_token_id{};
  std::vector<token_id> eos_token_ids{};  // generation_config.json's eos_token_id wins over config.json's

  bool operator==(const model_config&) const = default;
};

// Reads <model_dir>/config.json and, when present, <model_dir>/generation_config.json.
result<model_config> load_model_config(const std::filesystem::path& model_dir);

// Parses config.json text; `generation_config_text` is empty when there is no such file. `file`
// names the source in error messages.
result<model_config> parse_model_config(std::string_view config_text, std::string_view generation_config_text,
                                        std::string_view file);

}  // namespace troupe
