// Added tokens of tokenizer.json ("added_tokens"): found in the input before normalization (or
// after it, for tokens with "normalized": true), exactly as Hugging Face's AddedVocabulary does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe::tokenizer_detail {

class normalizer;

struct added_token {
  token_id id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A piece of the input: either plain text (`id` empty) or one added token.
struct text_split {
  std::string_view text;
  std::optional<token_id> id;
};

class added_vocabulary {
 public:
  // `spec` is the "added_tokens" array; `norm` normalizes the content of normalized tokens.
  static result<added_vocabulary> from_json(const nlohmann::json& spec, const normalizer& norm,
                                            const std::filesystem::path& file);

  const std::vector<added_token>& tokens() const { return tokens_; }

  // Splits `text` on the tokens with normalized == false (the raw pass) or == true (the pass over
  // normalized text), leftmost-longest, applying lstrip/rstrip/single_word. Appends non-empty
  // splits, which view `text`.
  void split(std::string_view text, bool normalized_pass, std::vector<text_split>& splits) const;

  bool has_normalized_tokens() const { return !normalized_trie_.nodes.empty(); }

 private:
  // A byte trie over token contents; `token_index` names the token ending at a node, or -1.
  struct trie {
    struct node {
      std::vector<std::pair<unsigned char, std::int32_t>> children;
      std::int32_t token_index = -1;
    };
    std::vector<node> nodes;  // nodes[0] is the root when non-empty
    void insert(std::string_view key, std::int32_t token_index);
    // Index of the longest key that starts at text[pos], or -1; sets `length` to its size.
    std::int32_t longest_match(std::string_view text, std::size_t pos, std::size_t& length) const;
  };

  std::vector<added_token> tokens_;
  trie raw_trie_;
  trie normalized_trie_;
};

}  // namespace troupe::tokenizer_detail
