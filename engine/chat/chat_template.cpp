#include "engine/chat/chat_template.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include "engine/chat/ast.hpp"
#include "engine/chat/interpreter.hpp"

namespace troupe {

struct chat_template::parsed {
  std::string source;
  std::vector<jinja::stmt> body;
};

result<chat_template> chat_template::parse(std::string source) {
  try {
    auto p = std::make_shared<parsed>();
    p->body = jinja::parse_template(source);
    p->source = std::move(source);
    return chat_template(std::move(p));
  } catch (const jinja::template_error& e) {
    return make_error(e.code, "chat template: {}", e.message);
  }
}

result<std::string> chat_template::render(const nlohmann::ordered_json& context, const chat_render_options& options) const {
  if (!context.is_object()) {
    return make_error(errc::invalid_argument, "chat template context must be a JSON object, not {}", context.type_name());
  }
  try {
    const jinja::value variables = jinja::from_json(context);
    const jinja::render_hooks hooks{options.local_time};
    jinja::interpreter interp(variables.as_dict(), hooks);
    return interp.render(parsed_->body);
  } catch (const jinja::template_error& e) {
    return make_error(e.code, "chat template: {}", e.message);
  }
}

const std::string& chat_template::source() const { return parsed_->source; }

result<std::string> apply_chat_template(const chat_template& tmpl, const nlohmann::ordered_json& messages,
                                        const nlohmann::ordered_json& tools, bool add_generation_prompt,
                                        std::string_view bos_token, std::string_view eos_token) {
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
  context["messages"] = messages;
  context["tools"] = tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = add_generation_prompt;
  context["bos_token"] = std::string(bos_token);
  context["eos_token"] = std::string(eos_token);
  return tmpl.render(context);
}

namespace {

result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, "cannot open {}", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

result<std::string> template_from_config(const nlohmann::ordered_json& field, std::string_view name,
                                         const std::filesystem::path& path) {
  if (field.is_string()) return field.get<std::string>();
  if (!field.is_array()) return make_error(errc::parse_error, "{}: chat_template must be a string or a list", path.string());
  for (const auto& entry : field) {
    if (entry.is_object() && entry.value("name", "") == name && entry.contains("template") && entry["template"].is_string()) {
      return entry["template"].get<std::string>();
    }
  }
  return make_error(errc::not_found, "{}: no chat_template named '{}'", path.string(), name);
}

}  // namespace

result<chat_template> load_chat_template(const std::filesystem::path& tokenizer_config_path, std::string_view name) {
  TROUPE_ASSIGN_OR_RETURN(const std::string text, read_file(tokenizer_config_path));
  nlohmann::ordered_json config;
  try {
    config = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::parse_error, "{}: {}", tokenizer_config_path.string(), e.what());
  }
  std::string source;
  if (config.is_object() && config.contains("chat_template")) {
    TROUPE_ASSIGN_OR_RETURN(source, template_from_config(config["chat_template"], name, tokenizer_config_path));
  } else {
    const auto sibling = tokenizer_config_path.parent_path() / "chat_template.jinja";
    if (!std::filesystem::exists(sibling)) {
      return make_error(errc::not_found, "{} has no chat_template and there is no {}", tokenizer_config_path.string(),
                        sibling.string());
    }
    TROUPE_ASSIGN_OR_RETURN(source, read_file(sibling));
  }
  auto parsed = chat_template::parse(std::move(source));
  if (!parsed) {
    return make_error(parsed.error().code, "{}: {}", tokenizer_config_path.string(), parsed.error().message);
  }
  return parsed;
}

}  // namespace troupe
