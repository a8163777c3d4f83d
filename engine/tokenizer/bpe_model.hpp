// The BPE model of tokenizer.json ("model": {"type": "BPE"}): vocabulary, merge ranks, and the
// merge loop of Hugging Face's tokenizers (Word::merge_all without dropout).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe::tokenizer_detail {

// std::hash<std::string_view> for heterogeneous lookup of std::string keys.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};
using vocab_map = std::unordered_map<std::string, token_id, string_hash, std::equal_to<>>;

class bpe_model {
 public:
  // `spec` is the "model" value; `file` names the tokenizer.json in errors.
  static result<bpe_model> from_json(const nlohmann::json& spec, const std::filesystem::path& file);

  // Appends the ids of one pre-tokenized word (valid UTF-8, non-empty) to `ids`.
  void tokenize(std::string_view word, std::vector<token_id>& ids) const;

  std::optional<token_id> token_to_id(std::string_view token) const;
  const vocab_map& vocab() const { return vocab_; }

 private:
  struct merge {
    std::uint32_t rank;
    token_id new_id;
  };
  struct symbol {
    token_id id;
    std::int32_t prev;  // index of the previous live symbol, -1 at the start
    std::int32_t next;  // index of the next live symbol, -1 at the end
    bool live;
  };

  static std::uint64_t pair_key(token_id left, token_id right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
  }
  const merge* find_merge(token_id left, token_id right) const;
  // The initial symbols of `word`: one per character, byte-fallback bytes, or (fused) unknowns.
  void initial_symbols(std::string_view word, std::vector<symbol>& symbols) const;
  void merge_all(std::vector<symbol>& symbols) const;

  vocab_map vocab_;
  std::unordered_map<std::uint64_t, merge> merges_;
  std::array<token_id, 256> byte_fallback_ids_{};  // valid when byte_fallback_
  bool byte_fallback_ = false;
  std::optional<token_id> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
};

}  // namespace troupe::tokenizer_detail
