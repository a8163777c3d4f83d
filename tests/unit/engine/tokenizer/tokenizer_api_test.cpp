#include <gtest/gtest.h>

#include "tests/unit/engine/tokenizer/test_assets.hpp"

namespace troupe {
namespace {

TEST(tokenizer_api, counts_added_tokens_in_the_vocab_size) {
  EXPECT_EQ(test::golden_tokenizer("llama3_1").vocab_size(), 128256);
  EXPECT_EQ(test::golden_tokenizer("qwen3").vocab_size(), 151669);
  EXPECT_EQ(test::golden_tokenizer("stories260k").vocab_size(), 512);
}

TEST(tokenizer_api, maps_added_and_model_tokens_both_ways) {
  const tokenizer& tok = test::golden_tokenizer("llama3_1");
  EXPECT_EQ(tok.token_to_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(tok.id_to_token(128000), "<|begin_of_text|>");
  EXPECT_EQ(tok.token_to_id("Hello"), 9906);
  EXPECT_EQ(tok.id_to_token(9906), "Hello");
  EXPECT_FALSE(tok.token_to_id("no such token").has_value());
  EXPECT_EQ(tok.id_to_token(-1), "");
  EXPECT_EQ(tok.id_to_token(tok.vocab_size()), "");
}

TEST(tokenizer_api, marks_only_special_added_tokens_as_special) {
  const tokenizer& tok = test::golden_tokenizer("qwen3");
  EXPECT_TRUE(tok.is_special(tok.token_to_id("<|im_start|>").value()));
  EXPECT_FALSE(tok.is_special(tok.token_to_id("<think>").value()));  // an added token, not special
  EXPECT_FALSE(tok.is_special(tok.token_to_id("Hello").value()));
}

TEST(tokenizer_api, skips_ids_no_token_has_when_decoding) {
  const tokenizer& tok = test::golden_tokenizer("llama3_1");
  std::vector<token_id> ids = {9906, -5, 1000000, 1917};
  EXPECT_EQ(tok.decode(ids), "Hello world");
}

TEST(tokenizer_api, replaces_invalid_utf8_input_before_encoding) {
  const tokenizer& tok = test::golden_tokenizer("llama3_1");
  EXPECT_EQ(tok.encode("a\xFF"
                       "b",
                       false),
            tok.encode("a\xEF\xBF\xBD"
                       "b",
                       false));
}

TEST(tokenizer_api, decodes_an_incomplete_byte_level_character_as_a_replacement_character) {
  const tokenizer& tok = test::golden_tokenizer("llama3_1");
  std::vector<token_id> ids = {tok.token_to_id("ðŁ").value()};  // F0 9F, the start of an emoji
  EXPECT_EQ(tok.decode(ids), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace troupe
