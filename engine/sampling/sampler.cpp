#include "engine/sampling/sampler.hpp"

#include <array>
#include <cassert>
#include <cmath>

#include "engine/sampling/logit_kernels.hpp"
#include "engine/sampling/philox.hpp"

namespace troupe {
namespace {

// Weights (relative to the best token's 1) tried, largest first, as the lower edge of the
// candidate set: the first whose mass covers the draw's target bounds the tokens to search.
constexpr std::array<float, 5> candidate_ladder = {0x1.0p-2f, 0x1.0p-5f, 0x1.0p-9f, 0x1.0p-14f,
                                                   0x1.0p-20f};

bool in_vocab(token_id token, std::size_t vocab_size) {
  const bool inside = token >= 0 && static_cast<std::size_t>(token) < vocab_size;
  assert(inside && "sample_context and logit_bias tokens must be in [0, vocab_size)");
  return inside;
}

}  // namespace

sample_result sampler::sample(std::span<float> logits, const sampling_params& p,
                              const sample_context& ctx) {
  assert(!logits.empty());
  process_logits(logits, p, ctx);
  sample_result out;
  if (p.temperature == 0.0f) {
    out.token = argmax_lowest_id(logits);
  } else {
    out.token = draw(logits, p, draw_uniform(ctx.seed, ctx.output_tokens.size()));
  }
  if (p.logprobs >= 0) fill_logprobs(logits, p.logprobs, out);
  return out;
}

void sampler::process_logits(std::span<float> logits, const sampling_params& p,
                             const sample_context& ctx) {
  for (const auto& [token, bias] : p.logit_bias) {
    if (in_vocab(token, logits.size())) logits[static_cast<std::size_t>(token)] += bias;
  }
  if (p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    apply_penalties(logits, p, ctx);
  }
}

void sampler::apply_penalties(std::span<float> logits, const sampling_params& p,
                              const sample_context& ctx) {
  const std::size_t vocab_size = logits.size();
  if (counts_.size() != vocab_size) {
    counts_.assign(vocab_size, 0);
    seen_.assign(vocab_size, 0);
  }
  if (p.repetition_penalty != 1.0f) {
    const float penalty = p.repetition_penalty;
    for (const auto tokens : {ctx.prompt_tokens, ctx.output_tokens}) {
      for (const token_id token : tokens) {
        if (!in_vocab(token, vocab_size) || seen_[static_cast<std::size_t>(token)] != 0) continue;
        seen_[static_cast<std::size_t>(token)] = 1;
        marked_.push_back(token);
        float& logit = logits[static_cast<std::size_t>(token)];
        logit = logit > 0.0f ? logit / penalty : logit * penalty;
      }
    }
    for (const token_id token : marked_) seen_[static_cast<std::size_t>(token)] = 0;
    marked_.clear();
  }
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    for (const token_id token : ctx.output_tokens) {
      if (!in_vocab(token, vocab_size)) continue;
      if (counts_[static_cast<std::size_t>(token)]++ == 0) counted_.push_back(token);
    }
    for (const token_id token : counted_) {
      std::int32_t& count = counts_[static_cast<std::size_t>(token)];
      logits[static_cast<std::size_t>(token)] -=
          static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
      count = 0;
    }
    counted_.clear();
  }
}

token_id sampler::draw(std::span<const float> logits, const sampling_params& p, double u) {
  if (p.top_k > 0 && static_cast<std::size_t>(p.top_k) < logits.size()) {
    return draw_from_top_k(logits, p, u);
  }
  return draw_from_vocab(logits, p, u);
}

// top-k first: every later stage works on the k sorted candidates only.
token_id sampler::draw_from_top_k(std::span<const float> logits, const sampling_params& p,
                                  double u) {
  select_top_k(logits, static_cast<std::size_t>(p.top_k), candidates_);
  const float max = candidates_.front().logit;
  if (!std::isfinite(max)) return argmax_lowest_id(logits);
  const float inv_temperature = 1.0f / p.temperature;
  double total = 0.0;
  for (candidate& c : candidates_) {
    c.weight = exp_nonpositive((c.logit - max) * inv_temperature);
    total += c.weight;
  }
  std::size_t num_kept = candidates_.size();
  if (p.top_p < 1.0f) num_kept = first_reaching(candidates_, p.top_p * total) + 1;
  // min-p keeps a prefix: weights descend along draw order and the best weighs 1.
  while (num_kept > 1 && !(candidates_[num_kept - 1].weight >= p.min_p &&
                           candidates_[num_kept - 1].weight > 0.0f)) {
    --num_kept;
  }
  const std::span<const candidate> kept(candidates_.data(), num_kept);
  double kept_mass = 0.0;
  for (const candidate& c : kept) kept_mass += c.weight;
  return kept[first_reaching(kept, u * kept_mass)].token;
}

// No top-k: weigh the whole vocabulary, collect the tokens above the highest ladder weight whose
// mass covers what the draw needs (the top-p mass, or u times the min-p mass), and find the
// top-p cut and the draw among them by weighted quickselect rather than a sort.
token_id sampler::draw_from_vocab(std::span<const float> logits, const sampling_params& p,
                                  double u) {
  const float max = max_logit(logits);
  if (!std::isfinite(max)) return argmax_lowest_id(logits);
  weights_.resize(logits.size());
  const double total = exp_weights(logits, max, 1.0f / p.temperature, weights_);
  // min-p keeps weights >= min_p (the best weighs 1): a floor under every threshold below.
  const float floor = p.min_p;
  const bool use_top_p = p.top_p < 1.0f;
  const double target = use_top_p ? static_cast<double>(p.top_p) * total
                                  : u * (floor > 0.0f ? mass_at_least(weights_, floor) : total);
  // Lowers the threshold down the ladder (one cheap pass each, usually one or two) until the
  // tokens above it carry the target mass; the floor itself always does.
  float threshold = floor;
  for (const float rung : candidate_ladder) {
    if (rung <= floor) break;
    if (mass_at_least(weights_, rung) >= target) {
      threshold = rung;
      break;
    }
  }
  collect_at_least(logits, weights_, threshold, candidates_);
  assert(!candidates_.empty());  // the best token weighs 1 >= every threshold

  if (!use_top_p) return candidates_[select_reaching(candidates_, target)].token;
  const std::span<candidate> kept(candidates_.data(), select_reaching(candidates_, target) + 1);
  double kept_mass = 0.0;
  for (const candidate& c : kept) kept_mass += c.weight;
  return kept[select_reaching(kept, u * kept_mass)].token;
}

void sampler::fill_logprobs(std::span<const float> logits, std::int32_t num_top,
                            sample_result& out) {
  const float max = max_logit(logits);
  float log_normalizer = max;
  if (std::isfinite(max)) {
    weights_.resize(logits.size());
    log_normalizer += std::log(exp_weights(logits, max, 1.0f, weights_));
  }
  out.logprob = logits[static_cast<std::size_t>(out.token)] - log_normalizer;
  if (num_top <= 0) return;
  select_top_k(logits, static_cast<std::size_t>(num_top), candidates_);
  out.top_logprobs.reserve(candidates_.size());
  for (const candidate& c : candidates_) {
    out.top_logprobs.push_back({c.token, c.logit - log_normalizer});
  }
}

}  // namespace troupe
