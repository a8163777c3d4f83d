// Prompts as token ids: plain text through the tokenizer, or a chat conversation through the
// model's chat template (tokenizer_config.json) and then the tokenizer.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat/chat_template.hpp"
#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/tokenizer_config.hpp"

namespace troupe {

class prompt_builder {
 public:
  // Reads tokenizer.json and tokenizer_config.json (optional) from a checkpoint folder.
  static result<prompt_builder> load(const std::filesystem::path& model_dir);

  const tokenizer& get_tokenizer() const { return *tokenizer_; }
  const tokenizer_config& config() const { return config_; }
  bool has_chat_template() const { return chat_template_.has_value(); }

  // Text as the model's tokenizer encodes it with its special tokens (e.g. BOS for Llama).
  std::vector<token_id> encode_text(std::string_view text) const;
  // The conversation rendered by the chat template. messages: OpenAI-style [{role, content}...];
  // tools: a list or null.
  result<std::string> render_chat(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                  bool add_generation_prompt = true) const;
  // render_chat, then encoded without adding special tokens (the template writes them).
  result<std::vector<token_id>> encode_chat(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                            bool add_generation_prompt = true) const;

 private:
  std::shared_ptr<const tokenizer> tokenizer_;
  tokenizer_config config_;
  std::optional<chat_template> chat_template_;
  std::filesystem::path model_dir_;
};

}  // namespace troupe
