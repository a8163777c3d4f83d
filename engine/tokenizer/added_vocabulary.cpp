#include "engine/tokenizer/added_vocabulary.hpp"

#include <nlohmann/json.hpp>

#include "engine/tokenizer/normalizer.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace troupe::tokenizer_detail {
namespace {

// The code point that ends text[0, end) (valid UTF-8, end > 0).
char32_t last_code_point(std::string_view text, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return utf8_decode_at(text, start);
}

}  // namespace

void added_vocabulary::trie::insert(std::string_view key, std::int32_t token_index) {
  if (nodes.empty()) nodes.emplace_back();
  std::size_t current = 0;
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    std::int32_t child = -1;
    for (const auto& [child_byte, index] : nodes[current].children) {
      if (child_byte == byte) child = index;
    }
    if (child < 0) {
      child = static_cast<std::int32_t>(nodes.size());
      nodes[current].children.emplace_back(byte, child);
      nodes.emplace_back();
    }
    current = static_cast<std::size_t>(child);
  }
  if (nodes[current].token_index < 0) nodes[current].token_index = token_index;
}

std::int32_t added_vocabulary::trie::longest_match(std::string_view text, std::size_t pos,
                                                   std::size_t& length) const {
  std::int32_t best = -1;
  std::size_t current = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    std::int32_t child = -1;
    for (const auto& [byte, index] : nodes[current].children) {
      if (byte == static_cast<unsigned char>(text[i])) child = index;
    }
    if (child < 0) break;
    current = static_cast<std::size_t>(child);
    if (nodes[current].token_index >= 0) {
      best = nodes[current].token_index;
      length = i + 1 - pos;
    }
  }
  return best;
}

result<added_vocabulary> added_vocabulary::from_json(const nlohmann::json& spec,
                                                     const normalizer& norm,
                                                     const std::filesystem::path& file) {
  added_vocabulary vocabulary;
  if (spec.is_null()) return vocabulary;
  for (const auto& entry : spec) {
    added_token token;
    token.id = entry.at("id").get<token_id>();
    token.content = entry.at("content").get<std::string>();
    token.single_word = entry.value("single_word", false);
    token.lstrip = entry.value("lstrip", false);
    token.rstrip = entry.value("rstrip", false);
    token.normalized = entry.value("normalized", false);
    token.special = entry.value("special", false);
    if (token.id < 0 || token.content.empty()) {
      return make_error(errc::parse_error, "{}: added token {} has a negative id or empty content",
                        file.string(), entry.dump());
    }
    vocabulary.tokens_.push_back(std::move(token));
  }
  // Hugging Face matches all tokens in one leftmost-longest automaton; on equal content the first
  // wins.
  for (std::size_t i = 0; i < vocabulary.tokens_.size(); ++i) {
    const added_token& token = vocabulary.tokens_[i];
    auto index = static_cast<std::int32_t>(i);
    if (token.normalized) {
      std::string content = norm.apply(token.content);
      if (!content.empty()) vocabulary.normalized_trie_.insert(content, index);
    } else {
      vocabulary.raw_trie_.insert(token.content, index);
    }
  }
  return vocabulary;
}

void added_vocabulary::split(std::string_view text, bool normalized_pass,
                             std::vector<text_split>& splits) const {
  const trie& tokens_trie = normalized_pass ? normalized_trie_ : raw_trie_;
  if (tokens_trie.nodes.empty()) {
    if (!text.empty()) splits.push_back({text, std::nullopt});
    return;
  }
  std::size_t start_offset = 0;  // end of the last emitted split
  std::size_t pos = 0;           // where the next search starts
  while (pos < text.size()) {
    std::size_t length = 0;
    std::int32_t index = tokens_trie.longest_match(text, pos, length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const added_token& token = tokens_[static_cast<std::size_t>(index)];
    std::size_t start = pos;
    std::size_t stop = pos + length;
    pos = stop;
    if (token.single_word) {
      bool start_ok = start == 0 || !is_unicode_alphanumeric(last_code_point(text, start));
      bool stop_ok = stop == text.size() || !is_unicode_alphanumeric(utf8_decode_at(text, stop));
      if (!start_ok || !stop_ok) continue;
    }
    if (token.lstrip) {
      std::size_t new_start = start;
      while (new_start > 0 && is_unicode_whitespace(last_code_point(text, new_start))) {
        do --new_start;
        while (new_start > 0 && (static_cast<unsigned char>(text[new_start]) & 0xC0) == 0x80);
      }
      start = std::max(new_start, start_offset);
    }
    if (token.rstrip) {
      while (stop < text.size() && is_unicode_whitespace(utf8_decode_at(text, stop))) {
        stop += utf8_sequence_length(static_cast<unsigned char>(text[stop]));
      }  // like Hugging Face, the search goes on from the end of the match itself
    }
    if (start_offset < start)
      splits.push_back({text.substr(start_offset, start - start_offset), std::nullopt});
    splits.push_back({text.substr(start, stop - start), token.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) splits.push_back({text.substr(start_offset), std::nullopt});
}

}  // namespace troupe::tokenizer_detail
