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
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};
using vocab_map = std::unordered_map<std::string, token_id, string_hash, std::equal_to<>>;

class bpe_model {
 public:
  // `spec` is the "model" value; `file` names the tokenizer.json in errors.
  static result<bpe_model> from_json(const nlohmann::json& spec, const std::filesystem::path& file);

  // Appends the ids of one pre-tokenized word (valid UTF-8, non-empty) to `ids`.
  void tokenize(std::string_view word, std::vector<token_id>& ids) const;

  std::optional<token_id> token_to_id(std::string_view token) const;
  std::optional<token_id> char_to_id(std::string_view character) const;
  const vocab_map& vocab() const { return vocab_; }

 private:
  struct merge {
    std::uint32_t rank;
    token_id new_id;
  };
  // Open-addressing (linear probing) map from a pair of ids to its merge: one probe is usually
  // one cache miss, where std::unordered_map costs two or three.
  class merge_map {
   public:
    void reserve(std::size_t num_merges);
    void insert(std::uint64_t key,
                merge value);  // a repeated key keeps the last value, as in Hugging Face
    const merge* find(std::uint64_t key) const;

   private:
    static constexpr std::uint64_t empty_key = ~std::uint64_t{0};  // ids are never negative
    std::size_t slot(std::uint64_t key) const {
      return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
    }
    std::vector<std::uint64_t> keys_;
    std::vector<merge> values_;
    int shift_ = 64;
  };
  struct symbol {
    token_id id;
    std::int32_t prev;  // index of the previous live symbol, -1 at the start
    std::int32_t next;  // index of the next live symbol, -1 at the end
    bool live;
  };

  static std::uint64_t pair_key(token_id left, token_id right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  const merge* find_merge(token_id left, token_id right) const;
  // The initial symbols of `word`: one per character, byte-fallback bytes, or (fused) unknowns.
  void initial_symbols(std::string_view word, std::vector<symbol>& symbols) const;
  // Merges the lowest-ranked pair, leftmost first, until none is left: a priority queue for long
  // words, a scan for short ones (the same merges in the same order).
  void merge_all(std::vector<symbol>& symbols) const;
  void merge_all_by_scan(std::vector<symbol>& symbols) const;

  vocab_map vocab_;
  // Id of each one-character token by code point below 0x10000 (-1: not in the vocab); the
  // initial symbols of a word are looked up here instead of in vocab_ (a cache miss each).
  std::vector<token_id> char_ids_;
  merge_map merges_;
  std::array<token_id, 256> byte_fallback_ids_{};  // valid when byte_fallback_
  bool byte_fallback_ = false;
  std::optional<token_id> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
};

}  // namespace troupe::tokenizer_detail
