// ns per sampler::sample call at vocab 151936 (Qwen's), one thread. Prints one line per case.
// Logits: "peaked" is a normal(0, 2) bulk plus 30 tokens boosted by 6..14 (a language model's
// shape); "flat" is normal(0, 1), the worst case for top-p (the nucleus is most of the vocab).
// No case runs a logits processor, so one row is reused across calls unchanged.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/sampling/sampler.hpp"

namespace {

using troupe::sampling_params;

std::vector<float> make_logits(std::size_t vocab_size, bool peaked) {
  std::mt19937 engine(1234);
  std::normal_distribution<float> bulk(0.0f, peaked ? 2.0f : 1.0f);
  std::vector<float> logits(vocab_size);
  for (float& logit : logits) logit = bulk(engine);
  if (peaked) {
    std::uniform_int_distribution<std::size_t> pick(0, vocab_size - 1);
    std::uniform_real_distribution<float> boost(6.0f, 14.0f);
    for (int i = 0; i < 30; ++i) logits[pick(engine)] += boost(engine);
  }
  return logits;
}

// Median of per-call times: robust to other processes sharing the machine.
double ns_per_sample(std::vector<float>& logits, const sampling_params& p, int num_iterations) {
  troupe::sampler s;
  long checksum = 0;
  for (int i = 0; i < 20; ++i) {  // warm-up: scratch buffers reach their size
    checksum += s.sample(logits, p, {.prompt_tokens = {}, .output_tokens = {}, .seed = 99}).token;
  }
  std::vector<double> times_ns;
  for (int i = 0; i < num_iterations; ++i) {
    const troupe::sample_context ctx{.prompt_tokens = {}, .output_tokens = {},
                                     .seed = static_cast<std::uint64_t>(i)};
    const auto start = std::chrono::steady_clock::now();
    checksum += s.sample(logits, p, ctx).token;
    times_ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count());
  }
  if (checksum == -1) std::puts("");  // keeps the calls observable
  std::nth_element(times_ns.begin(), times_ns.begin() + num_iterations / 2, times_ns.end());
  return times_ns[static_cast<std::size_t>(num_iterations / 2)];
}

}  // namespace

int main() {
  constexpr std::size_t vocab_size = 151936;
  constexpr int num_iterations = 500;
  std::vector<float> peaked = make_logits(vocab_size, true);
  std::vector<float> flat = make_logits(vocab_size, false);
  struct bench_case {
    const char* name;
    sampling_params params;
    std::vector<float>* logits;
  };
  const bench_case cases[] = {
      {"greedy (peaked)", {.temperature = 0.0f}, &peaked},
      {"T=0.8 top_p=0.95 (peaked)", {.temperature = 0.8f, .top_p = 0.95f}, &peaked},
      {"top_k=50 (peaked)", {.top_k = 50}, &peaked},
      {"T=1.0 no truncation (peaked)", {.temperature = 1.0f}, &peaked},
      {"T=0.8 top_p=0.95 min_p=0.05 (peaked)", {.temperature = 0.8f, .top_p = 0.95f, .min_p = 0.05f}, &peaked},
      {"greedy + logprobs=5 (peaked)", {.temperature = 0.0f, .logprobs = 5}, &peaked},
      {"T=0.8 top_p=0.95 (flat, worst case)", {.temperature = 0.8f, .top_p = 0.95f}, &flat},
      {"T=1.0 no truncation (flat)", {.temperature = 1.0f}, &flat},
  };
  std::printf("vocab %zu, median of %d samples per case\n", vocab_size, num_iterations);
  for (const bench_case& c : cases) {
    std::printf("%-40s %10.0f ns/sample\n", c.name, ns_per_sample(*c.logits, c.params, num_iterations));
  }
  return 0;
}
