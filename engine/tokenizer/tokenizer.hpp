// troupe::tokenizer: a Hugging Face tokenizer.json BPE tokenizer that encodes and decodes exactly
// as Hugging Face's tokenizers library (SentencePiece-style BPE with byte fallback as in Llama 2 /
// Mistral; byte-level BPE as in Llama 3 / Qwen), added and special tokens included.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe {

namespace tokenizer_detail {
struct tokenizer_state;
}

// Immutable once loaded; copies share the loaded tables; every method is safe to call from many
// threads at once.
class tokenizer {
 public:
  // Loads a tokenizer.json. Errors name the file and the field or component: not_found (no
  // file), parse_error (invalid JSON or fields), unsupported (model type, normalizer,
  // pre-tokenizer, decoder or post-processor troupe does not implement).
  static result<tokenizer> load(const std::filesystem::path& tokenizer_json);

  // Token ids of `text`. With add_special_tokens the post-processor's tokens are added (e.g. BOS);
  // special tokens written in the text are always recognised. Invalid UTF-8 in `text` is first
  // replaced by U+FFFD (as Rust's String::from_utf8_lossy does).
  std::vector<token_id> encode(std::string_view text, bool add_special_tokens = true) const;

  // The text of `ids` (valid UTF-8). Ids no token has are skipped, as Hugging Face does.
  std::string decode(std::span<const token_id> ids, bool skip_special_tokens = false) const;

  // Largest id of the model vocabulary and the added tokens, plus one.
  std::int32_t vocab_size() const;
  std::optional<token_id> token_to_id(std::string_view token) const;
  // The token's string (byte-level or SentencePiece form); empty for an id no token has.
  std::string_view id_to_token(token_id id) const;
  // True for added tokens marked "special" (skipped by decode(..., skip_special_tokens=true)).
  bool is_special(token_id id) const;

 private:
  friend class incremental_detokenizer;
  explicit tokenizer(std::shared_ptr<const tokenizer_detail::tokenizer_state> state)
      : state_(std::move(state)) {}

  std::shared_ptr<const tokenizer_detail::tokenizer_state> state_;
};

}  // namespace troupe
