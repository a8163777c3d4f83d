#include "engine/tokenizer/incremental_detokenizer.hpp"

#include <gtest/gtest.h>

#include "tests/unit/engine/tokenizer/test_assets.hpp"

namespace troupe {
namespace {

struct streamed {
  std::string text;
  bool all_pushes_valid_utf8 = true;
};

streamed stream(const tokenizer& tok, const std::vector<token_id>& ids, bool skip_special_tokens) {
  incremental_detokenizer detokenizer(tok, skip_special_tokens);
  streamed result;
  for (token_id id : ids) {
    std::string piece = detokenizer.push(id);
    result.all_pushes_valid_utf8 = result.all_pushes_valid_utf8 && test::is_valid_utf8(piece);
    result.text += piece;
  }
  result.text += detokenizer.flush();
  return result;
}

class incremental_detokenizer_test : public ::testing::TestWithParam<std::string> {
 protected:
  const tokenizer& tok() const { return test::golden_tokenizer(GetParam()); }
};

TEST_P(incremental_detokenizer_test, streams_every_corpus_string_exactly_as_a_full_decode) {
  for (const auto& c : test::golden(GetParam()).at("cases")) {
    auto ids = c.at("ids").get<std::vector<token_id>>();
    for (bool skip : {false, true}) {
      streamed result = stream(tok(), ids, skip);
      EXPECT_EQ(result.text, tok().decode(ids, skip))
          << "text: " << c.at("text") << " skip: " << skip;
      EXPECT_TRUE(result.all_pushes_valid_utf8) << "text: " << c.at("text");
    }
  }
}

TEST_P(incremental_detokenizer_test, streams_a_truncated_multibyte_character_as_a_full_decode) {
  // The ids of "😀" without its last token leave an incomplete character (or byte run) behind.
  auto ids = tok().encode("ab😀", false);
  ASSERT_GE(ids.size(), 2U);
  ids.pop_back();
  streamed result = stream(tok(), ids, true);
  EXPECT_EQ(result.text, tok().decode(ids, true));
  EXPECT_TRUE(result.all_pushes_valid_utf8);
}

INSTANTIATE_TEST_SUITE_P(real_tokenizers, incremental_detokenizer_test,
                         ::testing::ValuesIn(test::golden_tokenizer_names()),
                         [](const auto& info) { return info.param; });

TEST(incremental_detokenizer, holds_back_a_byte_level_character_until_its_last_byte) {
  const tokenizer& tok = test::golden_tokenizer("llama3_1");
  // Byte-level tokens of the four bytes of U+1F600 (F0 9F 98 80), one token per byte.
  std::vector<token_id> ids;
  for (const char* piece : {"ðŁ", "ĺ", "Ģ"}) ids.push_back(tok.token_to_id(piece).value());
  incremental_detokenizer detokenizer(tok);
  EXPECT_EQ(detokenizer.push(ids[0]), "");
  EXPECT_EQ(detokenizer.push(ids[1]), "");
  EXPECT_EQ(detokenizer.push(ids[2]), "\xF0\x9F\x98\x80");
  EXPECT_EQ(detokenizer.flush(), "");
}

TEST(incremental_detokenizer, holds_back_a_byte_fallback_run_until_it_ends) {
  const tokenizer& tok = test::golden_tokenizer("llama2");
  // "中" is E4 B8 AD; Llama 2 spells it as three <0xNN> tokens when it is not in the vocab.
  std::vector<token_id> ids = {tok.token_to_id("<0xE4>").value(), tok.token_to_id("<0xB8>").value(),
                               tok.token_to_id("<0xAD>").value(), tok.token_to_id("▁a").value()};
  incremental_detokenizer detokenizer(tok);
  EXPECT_EQ(detokenizer.push(ids[0]), "");
  EXPECT_EQ(detokenizer.push(ids[1]), "");
  EXPECT_EQ(detokenizer.push(ids[2]), "");
  EXPECT_EQ(detokenizer.push(ids[3]), "中 a");
  EXPECT_EQ(detokenizer.flush(), "");
}

TEST(incremental_detokenizer, strips_only_the_first_leading_space_of_a_sentencepiece_stream) {
  const tokenizer& tok = test::golden_tokenizer("llama2");
  auto ids = tok.encode(" Hello world", true);  // <s> ▁ ▁Hello ▁world
  incremental_detokenizer detokenizer(tok, /*skip_special_tokens=*/true);
  std::string text;
  for (token_id id : ids) text += detokenizer.push(id);
  text += detokenizer.flush();
  EXPECT_EQ(text, " Hello world");
}

TEST(incremental_detokenizer, skips_special_tokens_when_asked) {
  const tokenizer& tok = test::golden_tokenizer("qwen3");
  incremental_detokenizer detokenizer(tok, /*skip_special_tokens=*/true);
  EXPECT_EQ(detokenizer.push(tok.token_to_id("<|im_end|>").value()), "");
  EXPECT_EQ(detokenizer.push(tok.token_to_id("Hello").value()), "Hello");
}

TEST(incremental_detokenizer, starts_a_new_text_after_flush) {
  const tokenizer& tok = test::golden_tokenizer("llama2");
  incremental_detokenizer detokenizer(tok);
  token_id hello = tok.token_to_id("▁Hello").value();
  EXPECT_EQ(detokenizer.push(hello), "Hello");
  EXPECT_EQ(detokenizer.flush(), "");
  EXPECT_EQ(detokenizer.push(hello), "Hello");  // the leading space is stripped again
}

}  // namespace
}  // namespace troupe
