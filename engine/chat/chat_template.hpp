// Chat templates: the jinja2 `chat_template` of a Hugging Face tokenizer_config.json, rendered
// exactly as transformers' apply_chat_template renders it with Python's jinja2
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson as
// json.dumps(ensure_ascii=False), raise_exception and strftime_now globals).
//
// Contexts are nlohmann::ordered_json so that dict key order survives: tojson prints keys in
// insertion order, as Python does, and that order is part of the prompt. Parse request bodies
// with nlohmann::ordered_json::parse before handing messages and tools to a template.
//
// A chat_template is immutable after parse(); render() is const and safe to call from several
// threads at once. Copies share the parsed template.
#pragma once

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/common/result.hpp"

namespace troupe {

namespace jinja {
struct stmt;
}

struct chat_render_options {
  // The local time strftime_now() formats; empty means now. Tests fix it.
  std::optional<std::tm> local_time;
};

class chat_template {
 public:
  // Fails with errc::parse_error (syntax, unknown tag, unclosed block) or errc::unsupported
  // (unknown filter or test, a jinja2 feature this interpreter lacks), naming line:column.
  static result<chat_template> parse(std::string source);

  // context: an object whose keys become template variables, e.g. {"messages": [...],
  // "tools": [...] or null, "add_generation_prompt": bool, "bos_token": "...", ...}.
  // Fails naming line:column on a render error: raise_exception() (errc::invalid_argument, the
  // message quoted), an operation on an undefined value, a type error, an unsupported construct.
  result<std::string> render(const nlohmann::ordered_json& context, const chat_render_options& options = {}) const;

  const std::string& source() const;

 private:
  struct parsed;
  explicit chat_template(std::shared_ptr<const parsed> p) : parsed_(std::move(p)) {}
  std::shared_ptr<const parsed> parsed_;
};

// Renders as transformers does for apply_chat_template(messages, tools=..., add_generation_prompt=...):
// the context is {messages, tools (null when `tools` is null), documents: null,
// add_generation_prompt, bos_token, eos_token}.
result<std::string> apply_chat_template(const chat_template& tmpl, const nlohmann::ordered_json& messages,
                                        const nlohmann::ordered_json& tools, bool add_generation_prompt,
                                        std::string_view bos_token, std::string_view eos_token);

// Reads the template of a tokenizer_config.json: "chat_template" as a string, or as a list of
// {"name", "template"} from which `name` is picked; without the field, a chat_template.jinja
// beside the file. Fails naming the file when none is found or it does not parse.
result<chat_template> load_chat_template(const std::filesystem::path& tokenizer_config_path,
                                         std::string_view name = "default");

}  // namespace troupe
