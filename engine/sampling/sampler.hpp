// Turns one row of logits into one token: logits processors, truncation and a seeded draw.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/sampling/candidates.hpp"
#include "engine/sampling/sampling_params.hpp"

namespace troupe {

struct token_logprob {
  token_id token = 0;
  float logprob = 0.0f;  // natural log, from the processed logits before temperature
};

struct sample_result {
  token_id token = 0;
  // log_softmax of the processed logits (after bias and penalties, before temperature) at
  // `token`; NaN when the request asked for no logprobs (params.logprobs == -1).
  float logprob = std::numeric_limits<float>::quiet_NaN();
  // The params.logprobs most likely tokens, logprob descending then id ascending.
  std::vector<token_logprob> top_logprobs;
};

struct sample_context {
  std::span<const token_id> prompt_tokens;
  std::span<const token_id> output_tokens;  // generated so far; its size is the output index
  std::uint64_t seed = 0;                   // the request's seed (engine draws one when unset)
};

// Holds scratch buffers sized to the vocabulary, so that after the first call per vocabulary size
// sampling allocates nothing but the result's top_logprobs. Not thread-safe: one per thread.
//
// Order of processing (README.md): logit_bias -> repetition penalty -> presence/frequency
// penalties -> logprobs -> greedy argmax if temperature == 0 -> temperature -> top-k -> top-p ->
// min-p -> inverse-CDF draw over the kept tokens in draw order (logit desc, id asc) with
// u = draw_uniform(ctx.seed, ctx.output_tokens.size()).
class sampler {
 public:
  // Samples from one row of logits (vocab_size floats, modified: see process_logits). `p` must
  // have passed p.validate(logits.size()) and every token of ctx must be in [0, vocab_size).
  // Logits should be finite or -inf; a row whose maximum is NaN or +inf is sampled greedily.
  sample_result sample(std::span<float> logits, const sampling_params& p,
                       const sample_context& ctx);

  // The logits processors, in place: logits[t] += bias for each logit_bias entry; then for each
  // distinct t in prompt + output: logits[t] = logits[t] > 0 ? logits[t] / repetition_penalty
  // : logits[t] * repetition_penalty; then for each t with count c > 0 in output:
  // logits[t] -= c * frequency_penalty + presence_penalty.
  void process_logits(std::span<float> logits, const sampling_params& p,
                      const sample_context& ctx);

 private:
  token_id draw(std::span<const float> logits, const sampling_params& p, double u);
  token_id draw_from_top_k(std::span<const float> logits, const sampling_params& p, double u);
  token_id draw_from_vocab(std::span<const float> logits, const sampling_params& p, double u);
  void fill_logprobs(std::span<const float> logits, std::int32_t num_top, sample_result& out);
  void apply_penalties(std::span<float> logits, const sampling_params& p,
                       const sample_context& ctx);

  std::vector<float> weights_;           // vocab_size; exp((logit - max) / T)
  std::vector<std::int32_t> counts_;     // vocab_size; zero between calls
  std::vector<std::uint8_t> seen_;       // vocab_size; zero between calls
  std::vector<token_id> counted_;        // tokens with counts_ != 0 during a call
  std::vector<token_id> marked_;         // tokens with seen_ != 0 during a call
  std::vector<candidate> candidates_;
};

}  // namespace troupe
