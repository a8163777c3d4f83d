// Golden test: the transformer on the CPU backend against an independent PyTorch forward pass
// (oracle: scripts/torch_reference.py with Debian's python3-torch; nothing is stored, the oracle
// runs with the test). Logits at every prompt position and every greedy step must match closely
// in fp32 (all prompt positions and the first greedy steps), and 64 greedy tokens must be
// identical.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <span>

#include <gtest/gtest.h>

#include "engine/backend/cpu/cpu_backend.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/transformer.hpp"
#include "tests/unit/engine/reference.hpp"

namespace troupe {
namespace {

using testing::reference_run;

constexpr int num_generate = 64;

// One sequence driven by hand through the transformer: contiguous blocks 0, 1, 2, ...
class single_sequence_runner {
 public:
  single_sequence_runner(transformer& model, backend& be, std::int32_t block_size, std::int64_t num_blocks)
      : model_(model), block_size_(block_size) {
    auto kv = be.allocate_kv(model.kv_shape(num_blocks, block_size));
    EXPECT_TRUE(kv.has_value());
    cache_ = std::move(kv).value();
    for (std::int32_t b = 0; b < num_blocks; ++b) table_.push_back(b);
  }

  // Runs tokens at positions [start, start + n) and returns the logits of `rows` of them
  // (indices into the new tokens), row-major.
  std::vector<float> run(const std::vector<token_id>& tokens, std::int32_t start, std::vector<std::int32_t> rows) {
    std::vector<std::int32_t> positions;
    std::vector<std::int64_t> slots;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::int32_t pos = start + static_cast<std::int32_t>(i);
      positions.push_back(pos);
      slots.push_back(std::int64_t{table_[static_cast<std::size_t>(pos / block_size_)]} * block_size_ + pos % block_size_);
    }
    const std::vector<std::int32_t> query_start{0, static_cast<std::int32_t>(tokens.size())};
    const std::vector<std::int32_t> context_lens{start + static_cast<std::int32_t>(tokens.size())};
    const batch_layout layout{.token_ids = tokens, .positions = positions, .slot_mapping = slots,
                              .query_start = query_start, .context_lens = context_lens,
                              .block_tables = table_, .max_blocks_per_seq = static_cast<std::int32_t>(table_.size()),
                              .block_size = block_size_, .logits_rows = rows};
    std::vector<float> logits(rows.size() * static_cast<std::size_t>(model_.config().vocab_size));
    model_.forward(layout, cache_, logits);
    return logits;
  }

 private:
  transformer& model_;
  std::int32_t block_size_;
  kv_cache cache_;
  std::vector<std::int32_t> table_;
};

// |a - b| <= atol + rtol * |b| for every element; reports the worst element.
void expect_close(std::span<const float> actual, const std::vector<float>& expected, float atol, float rtol,
                  const std::string& where) {
  ASSERT_EQ(actual.size(), expected.size()) << where;
  float worst = 0;
  std::size_t worst_at = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const float excess = std::fabs(actual[i] - expected[i]) - (atol + rtol * std::fabs(expected[i]));
    if (excess > worst) { worst = excess; worst_at = i; }
  }
  EXPECT_LE(worst, 0.0f) << where << ": logit " << worst_at << " is " << actual[worst_at] << ", reference "
                         << expected[worst_at];
}

token_id argmax(std::span<const float> row) {
  return static_cast<token_id>(std::max_element(row.begin(), row.end()) - row.begin());
}

struct golden_case {
  std::string name;
  std::function<std::filesystem::path()> model_dir;
  std::vector<token_id> prompt;
  float atol = 2e-4f;
  std::int32_t num_threads = 1;
  int num_logit_rows = 16;  // greedy steps whose logits are compared (tokens: all 64)
};

void PrintTo(const golden_case& c, std::ostream* os) { *os << c.name; }

class transformer_golden : public ::testing::TestWithParam<golden_case> {};

TEST_P(transformer_golden, logits_and_64_greedy_tokens_match_the_pytorch_reference) {
  const golden_case& c = GetParam();
  const std::filesystem::path dir = c.model_dir();
  const reference_run ref = testing::run_torch_reference(dir, c.prompt, num_generate, c.num_logit_rows);
  ASSERT_EQ(ref.greedy_token_ids.size(), static_cast<std::size_t>(num_generate));

  auto config = load_model_config(dir);
  ASSERT_TRUE(config) << config.error().message;
  auto ckpt = checkpoint::open(dir);
  ASSERT_TRUE(ckpt) << ckpt.error().message;
  auto be = make_cpu_backend({.num_threads = c.num_threads});
  ASSERT_TRUE(be) << be.error().message;
  auto model = transformer::create(*config, *ckpt, **be, {.max_num_tokens = 64, .max_num_logits = 64});
  ASSERT_TRUE(model) << model.error().message;
  const std::int32_t block_size = 16;
  single_sequence_runner runner(**model, **be, block_size, 16);
  const auto vocab = static_cast<std::size_t>(config->vocab_size);

  // Prefill: logits at every prompt position.
  std::vector<std::int32_t> all_rows(c.prompt.size());
  std::iota(all_rows.begin(), all_rows.end(), 0);
  const std::vector<float> prompt_logits = runner.run(c.prompt, 0, all_rows);
  for (std::size_t p = 0; p < c.prompt.size(); ++p) {
    expect_close(std::span(prompt_logits).subspan(p * vocab, vocab), ref.prompt_logits[p], c.atol, 1e-4f,
                 "prompt position " + std::to_string(p));
  }
  // Greedy decode, one token per step, through the paged KV cache.
  std::vector<token_id> generated{argmax(std::span(prompt_logits).subspan((c.prompt.size() - 1) * vocab, vocab))};
  auto position = static_cast<std::int32_t>(c.prompt.size());
  while (generated.size() < static_cast<std::size_t>(num_generate)) {
    const std::vector<float> logits = runner.run({generated.back()}, position++, {0});
    const std::size_t step = generated.size();  // greedy_logits[i] chose greedy token i
    if (step < ref.greedy_logits.size()) {
      expect_close(logits, ref.greedy_logits[step], c.atol, 1e-4f, "decode step " + std::to_string(step));
    }
    generated.push_back(argmax(logits));
  }
  EXPECT_EQ(generated, ref.greedy_token_ids);
}

const std::vector<token_id> story_prompt{1, 403, 407, 261, 378};       // "<s>Once upon a time"
const std::vector<token_id> tiny_prompt{1, 791, 4062, 14198, 3993, 3530, 927, 279, 16053, 5679, 13,
                                        22, 220, 23, 11, 1541, 123, 17, 9, 2500, 7, 90, 1000, 1};

INSTANTIATE_TEST_SUITE_P(
    models, transformer_golden,
    ::testing::Values(
        golden_case{"stories260K", [] { return testing::shared_model("stories260K"); }, story_prompt, 2e-4f, 1, 64},
        golden_case{"stories260K_bf16", [] { return testing::shared_model("stories260K-bf16"); }, story_prompt, 2e-4f,
                    1, 64},
        golden_case{"stories260K_two_threads", [] { return testing::shared_model("stories260K"); }, story_prompt,
                    2e-4f, 2, 64},
        golden_case{"llama_tiny_f32", [] { return testing::tiny_model(model_arch::llama, "f32"); }, tiny_prompt},
        golden_case{"llama_tiny_bf16", [] { return testing::tiny_model(model_arch::llama, "bf16"); }, tiny_prompt},
        golden_case{"llama_tiny_attention_bias_f32", [] { return testing::tiny_llama_with_attention_bias(); },
                    tiny_prompt},
        golden_case{"mistral_tiny_f16", [] { return testing::tiny_model(model_arch::mistral, "f16"); }, tiny_prompt},
        golden_case{"qwen2_tiny_bf16", [] { return testing::tiny_model(model_arch::qwen2, "bf16"); }, tiny_prompt},
        golden_case{"qwen3_tiny_bf16", [] { return testing::tiny_model(model_arch::qwen3, "bf16"); }, tiny_prompt},
        golden_case{"qwen3_tiny_tied_head_f32", [] { return testing::tiny_model(model_arch::qwen3, "f32", true); },
                    tiny_prompt}),
    [](const ::testing::TestParamInfo<golden_case>& info) { return info.param.name; });

}  // namespace
}  // namespace troupe
