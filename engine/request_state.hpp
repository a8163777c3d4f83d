// What the engine keeps per request beside the scheduler's sequence: sampling parameters, the seed,
// the streaming detokenizer and stop strings; decides when a request is finished.
#pragma once

#include <span>

#include "engine/engine.hpp"
#include "engine/stop_matcher.hpp"
#include "engine/tokenizer/incremental_detokenizer.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace troupe {

// Where a sequence stands after a new token was appended.
struct token_outcome {
  std::int32_t num_output_tokens = 0;
  std::int32_t num_tokens = 0;      // prompt + output
  std::int32_t max_num_tokens = 0;  // min(prompt + max_tokens, max_model_len)
};

class request_state {
 public:
  request_state(request_id id, sampling_params sampling, std::uint64_t seed, const tokenizer& tok);

  const sampling_params& sampling() const { return sampling_; }
  std::uint64_t seed() const { return seed_; }

  // Adds the token's id, text and logprobs to `out`, and sets out.finished when the token is a
  // stop token (EOS unless ignore_eos, or one of stop_token_ids: its text is not emitted), the
  // text reached a stop string (cut before it), or the length limit was reached.
  void on_token(const sample_result& result, const token_outcome& outcome, std::span<const token_id> eos_token_ids,
                request_output& out);

 private:
  void finish(finish_reason reason, request_output& out);

  request_id id_;
  sampling_params sampling_;
  std::uint64_t seed_;
  incremental_detokenizer detokenizer_;
  stop_matcher stops_;
};

}  // namespace troupe
