// Decoders of tokenizer.json ("decoder"), written as a stream so that a full decode and the
// incremental detokenizer share one implementation.
//
// Supported shapes (anything else is an unsupported error naming the decoder):
//   null                                   tokens joined with " " (Hugging Face's default)
//   ByteLevel                              bytes of GPT-2's alphabet, then UTF-8 (lossy)
//   Sequence[Replace*, ByteFallback?, Fuse?, Strip*]  SentencePiece style (Llama 2, Mistral)
//   Sequence[ByteLevel, Strip*]
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/common/ids.hpp"
#include "engine/common/result.hpp"

namespace troupe::tokenizer_detail {

class decoder {
 public:
  // `spec` is the "decoder" value; `id_to_token` lists every token by id ("" for unused ids).
  static result<decoder> from_json(const nlohmann::json& spec,
                                   const std::vector<std::string>& id_to_token,
                                   const std::filesystem::path& file);

 private:
  friend class decode_stream;
  enum class kind { joined_with_space, byte_level, pieces };

  status add_stage(const nlohmann::json& spec, const std::filesystem::path& file);
  void precompute(const std::vector<std::string>& id_to_token);

  kind kind_ = kind::joined_with_space;
  std::vector<std::pair<std::string, std::string>>
      replacements_;                 // pieces: per-token (pattern, content)
  bool byte_fallback_ = false;       // pieces: <0xNN> tokens are bytes
  bool seen_join_ = false;           // Fuse or ByteLevel already added
  std::string strip_content_;        // one character, empty when no Strip
  std::size_t num_strip_start_ = 0;  // leading strip_content_ characters removed from the text
  std::size_t num_strip_stop_ = 0;   // trailing strip_content_ characters removed from the text
  // Per id: the text (pieces, joined_with_space) or bytes (byte_level) a token contributes.
  std::vector<std::string> piece_by_id_;
  std::vector<std::int16_t> byte_by_id_;  // pieces with byte_fallback_: the byte of <0xNN>, else -1
};

// Decodes a stream of token ids. push() appends only text that no later token can change, and
// never a partial UTF-8 character; the concatenation of every push() and finish() equals
// Hugging Face's decode of all the ids. Ids must be valid for the decoder (the caller filters).
class decode_stream {
 public:
  explicit decode_stream(const decoder& owner)
      : decoder_(&owner), num_strip_start_left_(owner.num_strip_start_) {}

  void push(token_id id, std::string& out);
  void finish(std::string& out);

 private:
  void emit(std::string_view text, std::string& out);
  void flush_byte_run(std::string& out);

  const decoder* decoder_;
  std::string
      pending_bytes_;  // byte_level: an incomplete UTF-8 tail; pieces: the current <0xNN> run
  std::size_t num_strip_start_left_;
  bool stripping_start_ = true;
  std::size_t num_held_strip_ = 0;  // trailing strip characters held back (at most num_strip_stop_)
  bool first_token_ = true;
};

}  // namespace troupe::tokenizer_detail
