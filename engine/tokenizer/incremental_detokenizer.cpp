#include "engine/tokenizer/incremental_detokenizer.hpp"

#include "engine/tokenizer/tokenizer_state.hpp"

namespace troupe {

incremental_detokenizer::incremental_detokenizer(const tokenizer& tok, bool skip_special_tokens)
    : state_(tok.state_), stream_(state_->dec), skip_special_tokens_(skip_special_tokens) {}

std::string incremental_detokenizer::push(token_id id) {
  std::string text;
  if (!state_->is_known(id) || (skip_special_tokens_ && state_->is_special(id))) return text;
  stream_.push(id, text);
  return text;
}

std::string incremental_detokenizer::flush() {
  std::string text;
  stream_.finish(text);
  stream_ = tokenizer_detail::decode_stream(state_->dec);
  return text;
}

}  // namespace troupe
