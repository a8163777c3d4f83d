#include "engine/model/hf_config_writer.hpp"

#include <string>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

using json = nlohmann::json;

// The shortest decimal of a float, as a double: 1e-5f is written "1e-05", not "9.99999974e-06".
double shortest(float value) { return std::stod(fmt::format("{}", value)); }

std::string_view torch_dtype_name(dtype type) {
  switch (type) {
    case dtype::f32: return "float32";
    case dtype::f16: return "float16";
    case dtype::bf16: return "bfloat16";
  }
  return "float32";
}

json token_or_null(const std::optional<token_id>& id) { return id ? json(*id) : json(nullptr); }

json rope_scaling_json(const model_config& config) {
  if (!config.rope_scaling) return nullptr;
  const llama3_rope_scaling& s = *config.rope_scaling;
  return {{"factor", shortest(s.factor)},
          {"low_freq_factor", shortest(s.low_freq_factor)},
          {"high_freq_factor", shortest(s.high_freq_factor)},
          {"original_max_position_embeddings", s.original_max_position_embeddings},
          {"rope_type", "llama3"}};
}

// Fields every one of the four config classes writes.
json common_fields(const model_config& config) {
  return {{"architectures", json::array({config.architecture})},
          {"attention_dropout", 0.0},
          {"bos_token_id", token_or_null(config.bos_token_id)},
          {"eos_token_id", config.eos_token_ids.empty() ? json(nullptr) : json(config.eos_token_ids.front())},
          {"hidden_act", "silu"},
          {"hidden_size", config.hidden_size},
          {"initializer_range", 0.02},
          {"intermediate_size", config.intermediate_size},
          {"max_position_embeddings", config.max_position_embeddings},
          {"model_type", model_arch_name(config.arch)},
          {"num_attention_heads", config.num_attention_heads},
          {"num_hidden_layers", config.num_hidden_layers},
          {"num_key_value_heads", config.num_key_value_heads},
          {"rms_norm_eps", shortest(config.rms_norm_eps)},
          {"rope_theta", config.rope_theta},
          {"tie_word_embeddings", config.tie_word_embeddings},
          {"torch_dtype", torch_dtype_name(config.torch_dtype)},
          {"transformers_version", "4.51.0"},
          {"use_cache", true},
          {"vocab_size", config.vocab_size}};
}

}  // namespace

std::string hf_config_json(const model_config& config) {
  json out = common_fields(config);
  bool default_head_dim = config.hidden_size == config.num_attention_heads * config.head_dim;
  if (config.rope_scaling) out["rope_scaling"] = rope_scaling_json(config);
  switch (config.arch) {
    case model_arch::llama:
      out["attention_bias"] = config.attention_bias;
      out["head_dim"] = config.head_dim;
      out["mlp_bias"] = false;
      out["pretraining_tp"] = 1;
      out["rope_scaling"] = rope_scaling_json(config);
      break;
    case model_arch::mistral:
      if (!default_head_dim) out["head_dim"] = config.head_dim;
      out["sliding_window"] = nullptr;
      break;
    case model_arch::qwen2:
      if (!default_head_dim) out["head_dim"] = config.head_dim;
      out["max_window_layers"] = config.num_hidden_layers;
      out["sliding_window"] = config.max_position_embeddings;
      out["use_sliding_window"] = false;
      break;
    case model_arch::qwen3:
      out["attention_bias"] = config.attention_bias;
      out["head_dim"] = config.head_dim;
      out["max_window_layers"] = config.num_hidden_layers;
      out["rope_scaling"] = rope_scaling_json(config);
      out["sliding_window"] = nullptr;
      out["use_sliding_window"] = false;
      break;
  }
  return out.dump(2) + "\n";
}

std::string hf_generation_config_json(const model_config& config) {
  json eos = config.eos_token_ids.size() == 1 ? json(config.eos_token_ids.front()) : json(config.eos_token_ids);
  json out = {{"_from_model_config", true}, {"bos_token_id", token_or_null(config.bos_token_id)}, {"transformers_version", "4.51.0"}};
  if (!config.eos_token_ids.empty()) out["eos_token_id"] = eos;
  return out.dump(2) + "\n";
}

}  // namespace troupe
