// tokenizer_config.json: the special tokens and chat templates that travel with a tokenizer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"

namespace troupe {

struct named_chat_template {
  std::string name;    // "default" for a plain string chat_template
  std::string source;  // Jinja2 text
};

struct tokenizer_config {
  std::optional<std::string> bos_token;  // given as a string or as {"content": ...}
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  bool add_bos_token = false;  // missing -> false (the tokenizer.json post-processor decides BOS)
  bool add_eos_token = false;
  std::vector<named_chat_template> chat_templates;  // in file order
  // Longest input the model accepts, in tokens; empty when missing or given as Hugging Face's
  // "no limit" sentinel (values of 1e18 and more).
  std::optional<std::int64_t> model_max_length;

  // The template named `name`, or null.
  const named_chat_template* chat_template(std::string_view name = "default") const;
};

// Reads `tokenizer_config_json`; a missing file gives the defaults above. Errors (parse_error)
// name the file and the field.
result<tokenizer_config> load_tokenizer_config(const std::filesystem::path& tokenizer_config_json);

}  // namespace troupe
