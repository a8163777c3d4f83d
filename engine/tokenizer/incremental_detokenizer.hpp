// Streaming detokenization: text for one sampled token at a time, for streaming responses.
#pragma once

#include <memory>
#include <string>

#include "engine/common/ids.hpp"
#include "engine/tokenizer/decoder.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace troupe {

// Push token ids one at a time; each push returns the text that became final. No push returns a
// partial UTF-8 character: bytes of <0xNN> fallback tokens and byte-level pieces are held back
// until they resolve (a run of <0xNN> tokens resolves when the run ends, because Hugging Face
// decides its validity over the whole run). The concatenation of every push() and flush() equals
// tok.decode(all ids, skip_special_tokens), SentencePiece's leading-space strip included.
// Shares the tokenizer's tables, so it may outlive `tok`.
class incremental_detokenizer {
 public:
  explicit incremental_detokenizer(const tokenizer& tok, bool skip_special_tokens = true);

  std::string push(token_id id);
  // Returns the held-back rest (an incomplete UTF-8 tail becomes U+FFFD, as a full decode gives)
  // and starts a new text.
  std::string flush();

 private:
  std::shared_ptr<const tokenizer_detail::tokenizer_state> state_;
  tokenizer_detail::decode_stream stream_;  // reads state_->dec, which state_ keeps alive
  bool skip_special_tokens_;
};

}  // namespace troupe
