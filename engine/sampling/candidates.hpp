// Candidate tokens for a draw and the deterministic order they are drawn in.
#pragma once

#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "engine/common/ids.hpp"

namespace troupe {

struct candidate {
  float logit;   // processed logit (NaN ranks as -inf)
  float weight;  // exp((logit - max) / T), unnormalized; 0 until computed
  token_id token;
};

// Draw order: logit descending, then token id ascending. A strict total order, NaN last.
inline bool ranks_before(const candidate& a, const candidate& b) {
  const float x = std::isnan(a.logit) ? -std::numeric_limits<float>::infinity() : a.logit;
  const float y = std::isnan(b.logit) ? -std::numeric_limits<float>::infinity() : b.logit;
  return x > y || (x == y && a.token < b.token);
}

// Replaces `out` with the min(k, vocab) best tokens of `logits` in draw order (weight 0).
// O(vocab + inserts * log k) with a bounded heap; no full sort.
void select_top_k(std::span<const float> logits, std::size_t k, std::vector<candidate>& out);

// Replaces `out` with every token whose weight is > 0 and >= min_weight, in id order.
void collect_at_least(std::span<const float> logits, std::span<const float> weights,
                      float min_weight, std::vector<candidate>& out);

// Index of the first candidate at which the running sum of weights (in double) reaches
// `target_mass`; the last index when rounding leaves the total short. Requires non-empty input.
std::size_t first_reaching(std::span<const candidate> candidates, double target_mass);

// The same choice as first_reaching on the candidates sorted in draw order, in expected linear
// time (weighted quickselect, no full sort): reorders `candidates` so that [0, r) are the ones
// ranking before candidates[r] (in no particular order) and returns r. Requires non-empty input.
std::size_t select_reaching(std::span<candidate> candidates, double target_mass);

}  // namespace troupe
