#include "engine/prompt_builder.hpp"

namespace troupe {

result<prompt_builder> prompt_builder::load(const std::filesystem::path& model_dir) {
  prompt_builder builder;
  builder.model_dir_ = model_dir;
  TROUPE_ASSIGN_OR_RETURN(tokenizer tok, tokenizer::load(model_dir / "tokenizer.json"));
  builder.tokenizer_ = std::make_shared<const tokenizer>(std::move(tok));
  TROUPE_ASSIGN_OR_RETURN(builder.config_, load_tokenizer_config(model_dir / "tokenizer_config.json"));
  if (const named_chat_template* source = builder.config_.chat_template()) {
    auto parsed = chat_template::parse(source->source);
    if (!parsed) {
      return make_error(parsed.error().code, "{}: chat_template: {}",
                        (model_dir / "tokenizer_config.json").string(), parsed.error().message);
    }
    builder.chat_template_.emplace(std::move(parsed).value());
  }
  return builder;
}

std::vector<token_id> prompt_builder::encode_text(std::string_view text) const {
  return tokenizer_->encode(text, /*add_special_tokens=*/true);
}

result<std::string> prompt_builder::render_chat(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                                bool add_generation_prompt) const {
  if (!chat_template_) {
    return make_error(errc::not_found, "{} has no chat_template: use a plain prompt instead",
                      (model_dir_ / "tokenizer_config.json").string());
  }
  return apply_chat_template(*chat_template_, messages, tools, add_generation_prompt,
                             config_.bos_token.value_or(""), config_.eos_token.value_or(""));
}

result<std::vector<token_id>> prompt_builder::encode_chat(const nlohmann::ordered_json& messages,
                                                          const nlohmann::ordered_json& tools,
                                                          bool add_generation_prompt) const {
  TROUPE_ASSIGN_OR_RETURN(std::string text, render_chat(messages, tools, add_generation_prompt));
  return tokenizer_->encode(text, /*add_special_tokens=*/false);
}

}  // namespace troupe
