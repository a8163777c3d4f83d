#include "engine/model/model_config.hpp"

#include <array>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

using json = nlohmann::json;

struct arch_entry {
  std::string_view architecture;
  std::string_view model_type;
  model_arch arch;
};

constexpr std::array<arch_entry, 4> arch_table{{
    {"LlamaForCausalLM", "llama", model_arch::llama},
    {"MistralForCausalLM", "mistral", model_arch::mistral},
    {"Qwen2ForCausalLM", "qwen2", model_arch::qwen2},
    {"Qwen3ForCausalLM", "qwen3", model_arch::qwen3},
}};

// Reads typed fields of one JSON object; every error names the file and the field.
class field_reader {
 public:
  field_reader(const json& object, std::string_view file) : object_(object), file_(file) {}

  const json* find(std::string_view field) const {
    auto it = object_.find(field);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  error fail(errc code, std::string_view field, std::string_view what) const {
    return make_error(code, "{}: field \"{}\" {}", file_, field, what);
  }

  // A positive int32; `fallback` when absent (nullopt: the field is required).
  result<std::int32_t> positive_int(std::string_view field, std::optional<std::int32_t> fallback = {}) const {
    const json* value = find(field);
    if (value == nullptr) {
      if (fallback) return *fallback;
      return fail(errc::parse_error, field, "is missing");
    }
    if (!value->is_number_integer()) return fail(errc::parse_error, field, fmt::format("is not an integer: {}", value->dump()));
    auto v = value->get<std::int64_t>();
    if (v <= 0 || v > std::numeric_limits<std::int32_t>::max()) {
      return fail(errc::parse_error, field, fmt::format("must be a positive 32-bit integer, got {}", v));
    }
    return static_cast<std::int32_t>(v);
  }

  result<double> number(std::string_view field, double fallback) const {
    const json* value = find(field);
    if (value == nullptr) return fallback;
    if (!value->is_number()) return fail(errc::parse_error, field, fmt::format("is not a number: {}", value->dump()));
    return value->get<double>();
  }

  result<bool> boolean(std::string_view field, bool fallback) const {
    const json* value = find(field);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) return fail(errc::parse_error, field, fmt::format("is not a boolean: {}", value->dump()));
    return value->get<bool>();
  }

  result<std::optional<std::string>> string(std::string_view field) const {
    const json* value = find(field);
    if (value == nullptr) return std::optional<std::string>{};
    if (!value->is_string()) return fail(errc::parse_error, field, fmt::format("is not a string: {}", value->dump()));
    return std::optional<std::string>{value->get<std::string>()};
  }

  // A token id or a list of them (eos_token_id); empty when absent.
  result<std::vector<token_id>> token_ids(std::string_view field) const {
    const json* value = find(field);
    std::vector<token_id> ids;
    if (value == nullptr) return ids;
    auto one = [&](const json& v) -> status {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > std::numeric_limits<token_id>::max()) {
        return fail(errc::parse_error, field, fmt::format("is not a token id (or list of them): {}", value->dump()));
      }
      ids.push_back(v.get<token_id>());
      return ok();
    };
    if (value->is_array()) {
      for (const json& v : *value) TROUPE_RETURN_IF_ERROR(one(v));
    } else {
      TROUPE_RETURN_IF_ERROR(one(*value));
    }
    return ids;
  }

  std::string_view file() const { return file_; }

 private:
  const json& object_;
  std::string_view file_;
};

result<json> parse_object(std::string_view text, std::string_view file) {
  json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return make_error(errc::parse_error, "{}: not valid JSON", file);
  if (!parsed.is_object()) return make_error(errc::parse_error, "{}: expected a JSON object at the top level", file);
  return parsed;
}

result<arch_entry> read_architecture(const field_reader& fields) {
  const json* archs = fields.find("architectures");
  if (archs == nullptr) {
    TROUPE_ASSIGN_OR_RETURN(auto model_type, fields.string("model_type"));
    if (!model_type) return fields.fail(errc::parse_error, "architectures", "is missing (and so is \"model_type\")");
    for (const auto& entry : arch_table) {
      if (entry.model_type == *model_type) return entry;
    }
    return fields.fail(errc::unsupported, "model_type", fmt::format("names an unsupported model type \"{}\"", *model_type));
  }
  if (!archs->is_array() || archs->size() != 1 || !(*archs)[0].is_string()) {
    return fields.fail(errc::parse_error, "architectures", fmt::format("must list exactly one architecture name, got {}", archs->dump()));
  }
  auto name = (*archs)[0].get<std::string>();
  for (const auto& entry : arch_table) {
    if (entry.architecture == name) return entry;
  }
  return fields.fail(errc::unsupported, "architectures",
                     fmt::format("names \"{}\", which troupe does not implement (supported: LlamaForCausalLM, "
                                 "MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)", name));
}

result<std::optional<llama3_rope_scaling>> read_rope_scaling(const field_reader& fields) {
  const json* value = fields.find("rope_scaling");
  if (value == nullptr) return std::optional<llama3_rope_scaling>{};
  if (!value->is_object()) return fields.fail(errc::parse_error, "rope_scaling", fmt::format("is not an object: {}", value->dump()));
  field_reader scaling(*value, fields.file());
  TROUPE_ASSIGN_OR_RETURN(auto rope_type, scaling.string("rope_type"));
  if (!rope_type) { TROUPE_ASSIGN_OR_RETURN(rope_type, scaling.string("type")); }
  if (!rope_type) return fields.fail(errc::parse_error, "rope_scaling", "has neither \"rope_type\" nor \"type\"");
  if (*rope_type == "default") return std::optional<llama3_rope_scaling>{};
  if (*rope_type != "llama3") {
    return fields.fail(errc::unsupported, "rope_scaling",
                       fmt::format("has rope type \"{}\"; only \"llama3\" scaling is supported", *rope_type));
  }
  llama3_rope_scaling out;
  auto need = [&](std::string_view field) -> result<double> {
    if (scaling.find(field) == nullptr) return fields.fail(errc::parse_error, "rope_scaling", fmt::format("lacks \"{}\"", field));
    return scaling.number(field, 0.0);
  };
  TROUPE_ASSIGN_OR_RETURN(double factor, need("factor"));
  TROUPE_ASSIGN_OR_RETURN(double low, need("low_freq_factor"));
  TROUPE_ASSIGN_OR_RETURN(double high, need("high_freq_factor"));
  TROUPE_ASSIGN_OR_RETURN(out.original_max_position_embeddings, scaling.positive_int("original_max_position_embeddings"));
  if (factor <= 0 || low <= 0 || high <= low) {
    return fields.fail(errc::parse_error, "rope_scaling",
                       fmt::format("needs factor > 0 and 0 < low_freq_factor < high_freq_factor, got {}", value->dump()));
  }
  out.factor = static_cast<float>(factor);
  out.low_freq_factor = static_cast<float>(low);
  out.high_freq_factor = static_cast<float>(high);
  return std::optional<llama3_rope_scaling>{out};
}

result<dtype> read_torch_dtype(const field_reader& fields) {
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype". Absent means float32.
  std::string_view field = fields.find("dtype") != nullptr ? "dtype" : "torch_dtype";
  TROUPE_ASSIGN_OR_RETURN(auto name, fields.string(field));
  if (!name || *name == "float32") return dtype::f32;
  if (*name == "bfloat16") return dtype::bf16;
  if (*name == "float16") return dtype::f16;
  return fields.fail(errc::unsupported, field, fmt::format("is \"{}\"; supported: bfloat16, float16, float32", *name));
}

// Rejects features that troupe does not implement; each error names the field and the value.
status check_unsupported_features(const field_reader& fields) {
  TROUPE_ASSIGN_OR_RETURN(auto act, fields.string("hidden_act"));
  if (act && *act != "silu") return fields.fail(errc::unsupported, "hidden_act", fmt::format("is \"{}\"; only \"silu\" is supported", *act));
  TROUPE_ASSIGN_OR_RETURN(bool mlp_bias, fields.boolean("mlp_bias", false));
  if (mlp_bias) return fields.fail(errc::unsupported, "mlp_bias", "is true; MLP biases are not supported");
  if (const json* window = fields.find("sliding_window")) {
    TROUPE_ASSIGN_OR_RETURN(bool use_window, fields.boolean("use_sliding_window", true));
    if (use_window) {
      return fields.fail(errc::unsupported, "sliding_window",
                         fmt::format("is {} and \"use_sliding_window\" is not false; sliding-window attention is not supported",
                                     window->dump()));
    }
  }
  return ok();
}

status read_sizes(const field_reader& fields, model_config& config) {
  TROUPE_ASSIGN_OR_RETURN(config.hidden_size, fields.positive_int("hidden_size"));
  TROUPE_ASSIGN_OR_RETURN(config.intermediate_size, fields.positive_int("intermediate_size"));
  TROUPE_ASSIGN_OR_RETURN(config.num_hidden_layers, fields.positive_int("num_hidden_layers"));
  TROUPE_ASSIGN_OR_RETURN(config.num_attention_heads, fields.positive_int("num_attention_heads"));
  TROUPE_ASSIGN_OR_RETURN(config.num_key_value_heads, fields.positive_int("num_key_value_heads", config.num_attention_heads));
  TROUPE_ASSIGN_OR_RETURN(config.vocab_size, fields.positive_int("vocab_size"));
  if (config.num_attention_heads % config.num_key_value_heads != 0) {
    return fields.fail(errc::parse_error, "num_key_value_heads",
                       fmt::format("({}) must divide \"num_attention_heads\" ({})", config.num_key_value_heads,
                                   config.num_attention_heads));
  }
  if (fields.find("head_dim") == nullptr && config.hidden_size % config.num_attention_heads != 0) {
    return fields.fail(errc::parse_error, "head_dim",
                       fmt::format("is missing and \"hidden_size\" ({}) is not divisible by \"num_attention_heads\" ({})",
                                   config.hidden_size, config.num_attention_heads));
  }
  TROUPE_ASSIGN_OR_RETURN(config.head_dim, fields.positive_int("head_dim", config.hidden_size / config.num_attention_heads));
  if (config.head_dim % 2 != 0) return fields.fail(errc::parse_error, "head_dim", fmt::format("({}) must be even for RoPE", config.head_dim));
  // Defaults are those of the transformers config classes.
  std::int32_t default_max_positions = config.arch == model_arch::llama ? 2048 : config.arch == model_arch::mistral ? 131072 : 32768;
  TROUPE_ASSIGN_OR_RETURN(config.max_position_embeddings, fields.positive_int("max_position_embeddings", default_max_positions));
  return ok();
}

status read_numerics(const field_reader& fields, model_config& config) {
  TROUPE_ASSIGN_OR_RETURN(double eps, fields.number("rms_norm_eps", 1e-6));
  if (!(eps > 0 && eps < 1)) return fields.fail(errc::parse_error, "rms_norm_eps", fmt::format("must be in (0, 1), got {}", eps));
  config.rms_norm_eps = static_cast<float>(eps);
  TROUPE_ASSIGN_OR_RETURN(config.rope_theta, fields.number("rope_theta", 10000.0));
  if (!(config.rope_theta > 1)) return fields.fail(errc::parse_error, "rope_theta", fmt::format("must be > 1, got {}", config.rope_theta));
  TROUPE_ASSIGN_OR_RETURN(config.rope_scaling, read_rope_scaling(fields));
  TROUPE_ASSIGN_OR_RETURN(config.torch_dtype, read_torch_dtype(fields));
  TROUPE_ASSIGN_OR_RETURN(config.tie_word_embeddings, fields.boolean("tie_word_embeddings", false));
  // Mistral has no attention biases; Qwen2 always has q/k/v biases; Llama and Qwen3 have a flag.
  TROUPE_ASSIGN_OR_RETURN(bool bias_flag, fields.boolean("attention_bias", false));
  config.attention_bias = config.arch == model_arch::qwen2 || (config.arch != model_arch::mistral && bias_flag);
  config.qk_norm = config.arch == model_arch::qwen3;
  return ok();
}

result<std::optional<token_id>> single_token(const field_reader& fields, std::string_view field) {
  TROUPE_ASSIGN_OR_RETURN(auto ids, fields.token_ids(field));
  if (ids.size() > 1) return fields.fail(errc::parse_error, field, "must be a single token id");
  return ids.empty() ? std::optional<token_id>{} : std::optional<token_id>{ids[0]};
}

status read_special_tokens(const field_reader& fields, std::string_view generation_text, model_config& config) {
  TROUPE_ASSIGN_OR_RETURN(config.bos_token_id, single_token(fields, "bos_token_id"));
  TROUPE_ASSIGN_OR_RETURN(config.eos_token_ids, fields.token_ids("eos_token_id"));
  if (generation_text.empty()) return ok();
  std::string generation_file = (std::filesystem::path(fields.file()).parent_path() / "generation_config.json").string();
  TROUPE_ASSIGN_OR_RETURN(json generation, parse_object(generation_text, generation_file));
  field_reader gen_fields(generation, generation_file);
  TROUPE_ASSIGN_OR_RETURN(auto eos, gen_fields.token_ids("eos_token_id"));
  if (!eos.empty()) config.eos_token_ids = std::move(eos);
  if (!config.bos_token_id) { TROUPE_ASSIGN_OR_RETURN(config.bos_token_id, single_token(gen_fields, "bos_token_id")); }
  return ok();
}

result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::not_found, "cannot open {}", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(errc::io_error, "cannot read {}", path.string());
  return text.str();
}

}  // namespace

std::string_view model_arch_name(model_arch arch) {
  for (const auto& entry : arch_table) {
    if (entry.arch == arch) return entry.model_type;
  }
  return "?";
}

std::optional<model_arch> model_arch_from_name(std::string_view s) {
  for (const auto& entry : arch_table) {
    if (entry.model_type == s) return entry.arch;
  }
  return std::nullopt;
}

result<model_config> parse_model_config(std::string_view config_text, std::string_view generation_config_text,
                                        std::string_view file) {
  TROUPE_ASSIGN_OR_RETURN(json root, parse_object(config_text, file));
  field_reader fields(root, file);
  model_config config;
  TROUPE_ASSIGN_OR_RETURN(arch_entry entry, read_architecture(fields));
  config.architecture = std::string(entry.architecture);
  config.arch = entry.arch;
  TROUPE_RETURN_IF_ERROR(check_unsupported_features(fields));
  TROUPE_RETURN_IF_ERROR(read_sizes(fields, config));
  TROUPE_RETURN_IF_ERROR(read_numerics(fields, config));
  TROUPE_RETURN_IF_ERROR(read_special_tokens(fields, generation_config_text, config));
  return config;
}

result<model_config> load_model_config(const std::filesystem::path& model_dir) {
  auto config_path = model_dir / "config.json";
  TROUPE_ASSIGN_OR_RETURN(std::string config_text, read_text_file(config_path));
  std::string generation_text;
  auto generation_path = model_dir / "generation_config.json";
  std::error_code ec;
  if (std::filesystem::exists(generation_path, ec)) {
    TROUPE_ASSIGN_OR_RETURN(generation_text, read_text_file(generation_path));
  }
  return parse_model_config(config_text, generation_text, config_path.string());
}

}  // namespace troupe
