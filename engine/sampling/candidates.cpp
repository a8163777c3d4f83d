#include "engine/sampling/candidates.hpp"

#include <algorithm>
#include <cassert>

#include "engine/sampling/logit_kernels.hpp"

namespace troupe {

void select_top_k(std::span<const float> logits, std::size_t k, std::vector<candidate>& out) {
  out.clear();
  k = std::min(k, logits.size());
  if (k == 0) return;
  // A heap whose front is the worst of the best k seen so far.
  for (std::size_t i = 0; i < k; ++i) {
    out.push_back({logits[i], 0.0f, static_cast<token_id>(i)});
  }
  std::make_heap(out.begin(), out.end(), ranks_before);
  // Vector-skip to the next token that might beat the worst kept one (NaN never does).
  const auto worst_logit = [&] {
    const float logit = out.front().logit;
    return std::isnan(logit) ? -std::numeric_limits<float>::infinity() : logit;
  };
  for (std::size_t i = next_at_least(logits, worst_logit(), k); i < logits.size();
       i = next_at_least(logits, worst_logit(), i + 1)) {
    const candidate next{logits[i], 0.0f, static_cast<token_id>(i)};
    if (!ranks_before(next, out.front())) continue;
    std::pop_heap(out.begin(), out.end(), ranks_before);
    out.back() = next;
    std::push_heap(out.begin(), out.end(), ranks_before);
  }
  std::sort_heap(out.begin(), out.end(), ranks_before);
}

void collect_at_least(std::span<const float> logits, std::span<const float> weights,
                      float min_weight, std::vector<candidate>& out) {
  assert(logits.size() == weights.size());
  out.clear();
  // Weights are >= 0, so a positive bound also drops tokens of weight 0.
  const float bound = std::max(min_weight, std::numeric_limits<float>::denorm_min());
  for (std::size_t i = next_at_least(weights, bound, 0); i < weights.size();
       i = next_at_least(weights, bound, i + 1)) {
    out.push_back({logits[i], weights[i], static_cast<token_id>(i)});
  }
}

std::size_t first_reaching(std::span<const candidate> candidates, double target_mass) {
  assert(!candidates.empty());
  double mass = 0.0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    mass += candidates[i].weight;
    if (mass >= target_mass) return i;
  }
  return candidates.size() - 1;
}

namespace {

double mass_of(std::span<const candidate> candidates) {
  double mass = 0.0;
  for (const candidate& c : candidates) mass += c.weight;
  return mass;
}

// Moves the median of the first, middle and last candidates (in draw order) to the back.
void place_pivot_last(std::span<candidate> c) {
  candidate& a = c.front();
  candidate& b = c[c.size() / 2];
  candidate& z = c.back();
  if (ranks_before(b, a)) std::swap(a, b);
  if (ranks_before(z, b)) std::swap(b, z);
  if (ranks_before(b, a)) std::swap(a, b);
  std::swap(b, z);  // a <= b <= z in draw order; the median b goes last
}

}  // namespace

std::size_t select_reaching(std::span<candidate> candidates, double target_mass) {
  assert(!candidates.empty());
  constexpr std::size_t num_sorted_below = 16;
  // Invariant: the answer lies in [lo, hi); [0, lo) ranks before it and weighs mass_before.
  std::size_t lo = 0;
  std::size_t hi = candidates.size();
  double mass_before = 0.0;
  while (hi - lo > num_sorted_below) {
    const std::span<candidate> range = candidates.subspan(lo, hi - lo);
    place_pivot_last(range);
    const candidate pivot = range.back();
    const auto split = std::partition(range.begin(), range.end() - 1, [&](const candidate& c) {
      return ranks_before(c, pivot);
    });
    std::iter_swap(split, range.end() - 1);
    const std::size_t mid = lo + static_cast<std::size_t>(split - range.begin());
    const double left_mass = mass_of(candidates.subspan(lo, mid - lo));
    if (mid > lo && mass_before + left_mass >= target_mass) {
      hi = mid;
    } else if (mass_before + left_mass + pivot.weight >= target_mass) {
      return mid;
    } else {
      mass_before += left_mass + pivot.weight;
      lo = mid + 1;
    }
  }
  if (lo == hi) return lo - 1;  // rounding left the target just out of reach: the last one
  const std::span<candidate> rest = candidates.subspan(lo, hi - lo);
  std::sort(rest.begin(), rest.end(), ranks_before);
  return lo + first_reaching(rest, target_mass - mass_before);
}

}  // namespace troupe
