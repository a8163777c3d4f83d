#include "engine/model/model_presets.hpp"

#include <array>

namespace troupe {
namespace {

struct preset {
  model_arch arch;
  std::string_view size;
  model_config config;
};

constexpr llama3_rope_scaling llama31_scaling{.factor = 8.0f, .low_freq_factor = 1.0f, .high_freq_factor = 4.0f,
                                              .original_max_position_embeddings = 8192};

model_config llama(std::int32_t hidden, std::int32_t inter, std::int32_t layers, std::int32_t heads, std::int32_t kv_heads,
                   std::int32_t head_dim, std::int32_t vocab, llama3_rope_scaling scaling, bool tied) {
  return {.architecture = "LlamaForCausalLM", .arch = model_arch::llama, .hidden_size = hidden, .intermediate_size = inter,
          .num_hidden_layers = layers, .num_attention_heads = heads, .num_key_value_heads = kv_heads, .head_dim = head_dim,
          .vocab_size = vocab, .max_position_embeddings = 131072, .rms_norm_eps = 1e-5f, .rope_theta = 500000.0,
          .rope_scaling = scaling, .tie_word_embeddings = tied};
}

model_config mistral(std::int32_t hidden, std::int32_t inter, std::int32_t layers, std::int32_t heads, std::int32_t kv_heads,
                     std::int32_t head_dim, std::int32_t vocab) {
  return {.architecture = "MistralForCausalLM", .arch = model_arch::mistral, .hidden_size = hidden, .intermediate_size = inter,
          .num_hidden_layers = layers, .num_attention_heads = heads, .num_key_value_heads = kv_heads, .head_dim = head_dim,
          .vocab_size = vocab, .max_position_embeddings = 32768, .rms_norm_eps = 1e-5f, .rope_theta = 1000000.0};
}

model_config qwen2(std::int32_t hidden, std::int32_t inter, std::int32_t layers, std::int32_t heads, std::int32_t kv_heads,
                   std::int32_t head_dim, std::int32_t vocab, bool tied) {
  return {.architecture = "Qwen2ForCausalLM", .arch = model_arch::qwen2, .hidden_size = hidden, .intermediate_size = inter,
          .num_hidden_layers = layers, .num_attention_heads = heads, .num_key_value_heads = kv_heads, .head_dim = head_dim,
          .vocab_size = vocab, .max_position_embeddings = 32768, .rms_norm_eps = 1e-6f, .rope_theta = 1000000.0,
          .attention_bias = true, .tie_word_embeddings = tied};
}

model_config qwen3(std::int32_t hidden, std::int32_t inter, std::int32_t layers, std::int32_t heads, std::int32_t kv_heads,
                   std::int32_t head_dim, std::int32_t vocab, bool tied) {
  return {.architecture = "Qwen3ForCausalLM", .arch = model_arch::qwen3, .hidden_size = hidden, .intermediate_size = inter,
          .num_hidden_layers = layers, .num_attention_heads = heads, .num_key_value_heads = kv_heads, .head_dim = head_dim,
          .vocab_size = vocab, .max_position_embeddings = 40960, .rms_norm_eps = 1e-6f, .rope_theta = 1000000.0,
          .qk_norm = true, .tie_word_embeddings = tied};
}

// Real shapes from the released config.json files named beside each entry.
const std::array<preset, 12>& presets() {
  static const std::array<preset, 12> table{{
      {model_arch::llama, "tiny", llama(64, 128, 2, 4, 2, 16, 0, llama31_scaling, true)},
      {model_arch::llama, "1b", llama(2048, 8192, 16, 32, 8, 64, 128256,  // meta-llama/Llama-3.2-1B
                                      {.factor = 32.0f, .low_freq_factor = 1.0f, .high_freq_factor = 4.0f,
                                       .original_max_position_embeddings = 8192},
                                      true)},
      {model_arch::llama, "8b", llama(4096, 14336, 32, 32, 8, 128, 128256, llama31_scaling, false)},   // Llama-3.1-8B
      {model_arch::llama, "70b", llama(8192, 28672, 80, 64, 8, 128, 128256, llama31_scaling, false)},  // Llama-3.1-70B
      {model_arch::mistral, "tiny", mistral(64, 128, 2, 4, 2, 16, 0)},
      {model_arch::mistral, "7b", mistral(4096, 14336, 32, 32, 8, 128, 32768)},  // Mistral-7B-v0.3
      {model_arch::qwen2, "tiny", qwen2(64, 128, 2, 4, 2, 16, 0, false)},
      {model_arch::qwen2, "0.5b", qwen2(896, 4864, 24, 14, 2, 64, 151936, true)},    // Qwen2.5-0.5B
      {model_arch::qwen2, "7b", qwen2(3584, 18944, 28, 28, 4, 128, 152064, false)},  // Qwen2.5-7B-Instruct
      {model_arch::qwen3, "tiny", qwen3(64, 128, 2, 4, 2, 32, 0, true)},  // head_dim 32 != 64 / 4
      {model_arch::qwen3, "0.6b", qwen3(1024, 3072, 28, 16, 8, 128, 151936, true)},  // Qwen3-0.6B
      {model_arch::qwen3, "8b", qwen3(4096, 12288, 36, 32, 8, 128, 151936, false)},  // Qwen3-8B
  }};
  return table;
}

}  // namespace

std::vector<std::string> model_preset_sizes(model_arch arch) {
  std::vector<std::string> sizes;
  for (const preset& p : presets()) {
    if (p.arch == arch) sizes.emplace_back(p.size);
  }
  return sizes;
}

result<model_config> model_preset(model_arch arch, std::string_view size) {
  for (const preset& p : presets()) {
    if (p.arch == arch && p.size == size) return p.config;
  }
  std::string valid;
  for (const std::string& s : model_preset_sizes(arch)) valid += (valid.empty() ? "" : ", ") + s;
  return make_error(errc::invalid_argument, "unknown {} model size \"{}\" (valid sizes: {})", model_arch_name(arch), size, valid);
}

bool has_o_proj_bias(const model_config& config) {
  return config.attention_bias && (config.arch == model_arch::llama || config.arch == model_arch::qwen3);
}

std::vector<hf_tensor_spec> hf_tensor_layout(const model_config& config, bool include_tied_lm_head) {
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t q_dim = std::int64_t{config.num_attention_heads} * config.head_dim;
  const std::int64_t kv_dim = std::int64_t{config.num_key_value_heads} * config.head_dim;
  const std::int64_t inter = config.intermediate_size;
  std::vector<hf_tensor_spec> specs;
  auto add = [&](std::string name, std::vector<std::int64_t> shape, hf_tensor_kind kind) {
    specs.push_back({std::move(name), std::move(shape), kind});
  };
  add("model.embed_tokens.weight", {config.vocab_size, hidden}, hf_tensor_kind::embedding);
  for (std::int32_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    std::string p = fmt::format("model.layers.{}.", layer);
    add(p + "input_layernorm.weight", {hidden}, hf_tensor_kind::norm);
    const std::array<std::pair<std::string_view, std::int64_t>, 3> qkv{{{"q_proj", q_dim}, {"k_proj", kv_dim}, {"v_proj", kv_dim}}};
    for (const auto& [proj, out_dim] : qkv) {
      add(fmt::format("{}self_attn.{}.weight", p, proj), {out_dim, hidden}, hf_tensor_kind::matrix);
      if (config.attention_bias) add(fmt::format("{}self_attn.{}.bias", p, proj), {out_dim}, hf_tensor_kind::bias);
    }
    if (config.qk_norm) {
      add(p + "self_attn.q_norm.weight", {config.head_dim}, hf_tensor_kind::norm);
      add(p + "self_attn.k_norm.weight", {config.head_dim}, hf_tensor_kind::norm);
    }
    add(p + "self_attn.o_proj.weight", {hidden, q_dim}, hf_tensor_kind::matrix);
    if (has_o_proj_bias(config)) add(p + "self_attn.o_proj.bias", {hidden}, hf_tensor_kind::bias);
    add(p + "post_attention_layernorm.weight", {hidden}, hf_tensor_kind::norm);
    add(p + "mlp.gate_proj.weight", {inter, hidden}, hf_tensor_kind::matrix);
    add(p + "mlp.up_proj.weight", {inter, hidden}, hf_tensor_kind::matrix);
    add(p + "mlp.down_proj.weight", {hidden, inter}, hf_tensor_kind::matrix);
  }
  add("model.norm.weight", {hidden}, hf_tensor_kind::norm);
  if (!config.tie_word_embeddings || include_tied_lm_head) {
    add("lm_head.weight", {config.vocab_size, hidden}, hf_tensor_kind::matrix);
  }
  return specs;
}

}  // namespace troupe
