#include <fstream>

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.hpp"

namespace troupe {
namespace {

// A tokenizer.json written to a fresh temporary file.
class tokenizer_file : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& contents) {
    path_ =
        std::filesystem::temp_directory_path() /
        ("troupe_tokenizer_" +
         std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".json");
    std::ofstream(path_) << contents;
    return path_;
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }

  // A minimal valid BPE tokenizer.json with `field` replaced by `value`.
  static std::string bpe_json(const std::string& field = "", const std::string& value = "") {
    std::string model = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
    std::string json = R"({"model": )" + (field == "model" ? value : model);
    for (const char* key : {"normalizer", "pre_tokenizer", "decoder", "post_processor"}) {
      json += std::string(", \"") + key + "\": " + (field == key ? value : "null");
    }
    return json + "}";
  }

  std::filesystem::path path_;
};

TEST_F(tokenizer_file, loads_a_minimal_bpe_tokenizer) {
  auto tok = tokenizer::load(write(bpe_json()));
  ASSERT_TRUE(tok) << tok.error().to_string();
  EXPECT_EQ(tok->encode("abba"), (std::vector<token_id>{2, 1, 0}));
}

TEST_F(tokenizer_file, reports_a_missing_file_by_name) {
  auto tok = tokenizer::load("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::not_found);
  EXPECT_NE(tok.error().message.find("/nonexistent/dir/tokenizer.json"), std::string::npos);
}

TEST_F(tokenizer_file, reports_malformed_json_with_the_file_name) {
  auto file = write(R"({"model": {"type": "BPE", )");
  auto tok = tokenizer::load(file);
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::parse_error);
  EXPECT_NE(tok.error().message.find(file.string()), std::string::npos);
  EXPECT_NE(tok.error().message.find("invalid JSON"), std::string::npos);
}

TEST_F(tokenizer_file, reports_an_unsupported_model_type_by_name) {
  auto tok = tokenizer::load(write(bpe_json("model", R"({"type": "Unigram", "vocab": []})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::unsupported);
  EXPECT_NE(tok.error().message.find("model type 'Unigram'"), std::string::npos)
      << tok.error().message;
}

TEST_F(tokenizer_file, reports_an_unsupported_normalizer_by_name) {
  auto tok = tokenizer::load(write(bpe_json("normalizer", R"({"type": "Lowercase"})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::unsupported);
  EXPECT_NE(tok.error().message.find("normalizer type 'Lowercase'"), std::string::npos)
      << tok.error().message;
}

TEST_F(tokenizer_file, reports_an_unsupported_pre_tokenizer_by_name) {
  auto tok = tokenizer::load(write(bpe_json("pre_tokenizer", R"({"type": "Whitespace"})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::unsupported);
  EXPECT_NE(tok.error().message.find("pre_tokenizer type 'Whitespace'"), std::string::npos)
      << tok.error().message;
}

TEST_F(tokenizer_file, reports_an_unsupported_decoder_by_name) {
  auto tok =
      tokenizer::load(write(bpe_json("decoder", R"({"type": "WordPiece", "prefix": "##"})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::unsupported);
  EXPECT_NE(tok.error().message.find("decoder type 'WordPiece'"), std::string::npos)
      << tok.error().message;
}

TEST_F(tokenizer_file, reports_an_unsupported_post_processor_by_name) {
  auto tok = tokenizer::load(write(bpe_json("post_processor", R"({"type": "BertProcessing"})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::unsupported);
  EXPECT_NE(tok.error().message.find("post_processor type 'BertProcessing'"), std::string::npos)
      << tok.error().message;
}

TEST_F(tokenizer_file, reports_a_merge_of_tokens_missing_from_the_vocab) {
  auto tok = tokenizer::load(
      write(bpe_json("model", R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a z"]})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::parse_error);
  EXPECT_NE(tok.error().message.find("model.merges[0]"), std::string::npos) << tok.error().message;
}

TEST_F(tokenizer_file, reports_a_field_of_the_wrong_type) {
  auto tok = tokenizer::load(
      write(bpe_json("model", R"({"type": "BPE", "vocab": {"a": "zero"}, "merges": []})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::parse_error);
}

TEST_F(tokenizer_file, reports_an_invalid_split_regex) {
  auto tok = tokenizer::load(write(bpe_json(
      "pre_tokenizer",
      R"({"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false})")));
  ASSERT_FALSE(tok);
  EXPECT_EQ(tok.error().code, errc::parse_error);
  EXPECT_NE(tok.error().message.find("(unclosed"), std::string::npos) << tok.error().message;
}

}  // namespace
}  // namespace troupe
