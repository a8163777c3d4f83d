#include "engine/tokenizer/tokenizer_config.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

constexpr double no_limit_threshold = 1e18;

result<std::optional<std::string>> token_field(const nlohmann::json& root, const char* key,
                                               const std::filesystem::path& file) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object() && it->contains("content") && it->at("content").is_string()) {
    return std::optional<std::string>(it->at("content").get<std::string>());
  }
  return make_error(errc::parse_error,
                    "{}: {} must be a string or an object with 'content', not {}", file.string(),
                    key, it->dump());
}

result<bool> bool_field(const nlohmann::json& root, const char* key,
                        const std::filesystem::path& file) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return false;
  if (!it->is_boolean())
    return make_error(errc::parse_error, "{}: {} must be a boolean, not {}", file.string(), key,
                      it->dump());
  return it->get<bool>();
}

status read_chat_templates(const nlohmann::json& root, const std::filesystem::path& file,
                           tokenizer_config& config) {
  auto it = root.find("chat_template");
  if (it == root.end() || it->is_null()) return ok();
  if (it->is_string()) {
    config.chat_templates.push_back({"default", it->get<std::string>()});
    return ok();
  }
  if (it->is_array()) {
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string()) {
        return make_error(errc::parse_error,
                          "{}: chat_template entry {} is not {{\"name\", \"template\"}}",
                          file.string(), entry.dump().substr(0, 200));
      }
      config.chat_templates.push_back(
          {entry["name"].get<std::string>(), entry["template"].get<std::string>()});
    }
    return ok();
  }
  return make_error(errc::parse_error, "{}: chat_template must be a string or a list, not {}",
                    file.string(), it->type_name());
}

result<std::optional<std::int64_t>> max_length_field(const nlohmann::json& root,
                                                     const std::filesystem::path& file) {
  auto it = root.find("model_max_length");
  if (it == root.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number()) {
    return make_error(errc::parse_error, "{}: model_max_length must be a number, not {}",
                      file.string(), it->dump());
  }
  double value = it->get<double>();
  if (value >= no_limit_threshold) return std::optional<std::int64_t>();
  if (value < 1 || std::floor(value) != value) {
    return make_error(errc::parse_error, "{}: model_max_length {} is not a positive integer",
                      file.string(), it->dump());
  }
  return std::optional<std::int64_t>(it->is_number_integer() ? it->get<std::int64_t>()
                                                             : static_cast<std::int64_t>(value));
}

result<tokenizer_config> parse_config(const nlohmann::json& root,
                                      const std::filesystem::path& file) {
  if (!root.is_object())
    return make_error(errc::parse_error, "{}: the top level is not a JSON object", file.string());
  tokenizer_config config;
  TROUPE_ASSIGN_OR_RETURN(config.bos_token, token_field(root, "bos_token", file));
  TROUPE_ASSIGN_OR_RETURN(config.eos_token, token_field(root, "eos_token", file));
  TROUPE_ASSIGN_OR_RETURN(config.pad_token, token_field(root, "pad_token", file));
  TROUPE_ASSIGN_OR_RETURN(config.unk_token, token_field(root, "unk_token", file));
  TROUPE_ASSIGN_OR_RETURN(config.add_bos_token, bool_field(root, "add_bos_token", file));
  TROUPE_ASSIGN_OR_RETURN(config.add_eos_token, bool_field(root, "add_eos_token", file));
  TROUPE_RETURN_IF_ERROR(read_chat_templates(root, file, config));
  TROUPE_ASSIGN_OR_RETURN(config.model_max_length, max_length_field(root, file));
  return config;
}

}  // namespace

const named_chat_template* tokenizer_config::chat_template(std::string_view name) const {
  for (const auto& entry : chat_templates) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

result<tokenizer_config> load_tokenizer_config(const std::filesystem::path& tokenizer_config_json) {
  std::error_code code;
  if (!std::filesystem::exists(tokenizer_config_json, code)) return tokenizer_config{};
  std::ifstream stream(tokenizer_config_json, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  if (!stream)
    return make_error(errc::io_error, "cannot read tokenizer config '{}'",
                      tokenizer_config_json.string());
  try {
    return parse_config(nlohmann::json::parse(contents.str()), tokenizer_config_json);
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::parse_error, "{}: invalid JSON: {}", tokenizer_config_json.string(),
                      e.what());
  }
}

}  // namespace troupe
