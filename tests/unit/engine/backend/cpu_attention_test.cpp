// Paged attention of the CPU backend against a scalar reference written here: softmax in double
// over each query's visible keys, read through the block table.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/engine/backend/cpu_test_support.hpp"

namespace troupe::testing {
namespace {

struct seq_spec {
  std::int32_t num_query_tokens = 1;
  std::int32_t context_len = 1;  // after this step, queries included
};

// A step's layout and data for a paged KV cache whose blocks are handed out in shuffled order.
struct attention_setup {
  std::int32_t num_heads = 0;
  std::int32_t num_kv_heads = 0;
  std::int32_t head_dim = 0;
  std::int32_t block_size = 16;
  std::int32_t max_blocks_per_seq = 0;
  std::vector<std::int32_t> token_ids, positions, query_start, context_lens, block_tables;
  std::vector<std::int64_t> slot_mapping;
  std::vector<float> q, k_cache, v_cache;
  std::int64_t num_slots = 0;

  std::int64_t width() const { return static_cast<std::int64_t>(num_kv_heads) * head_dim; }
  std::int64_t q_width() const { return static_cast<std::int64_t>(num_heads) * head_dim; }
  batch_layout layout() const {
    return batch_layout{token_ids, positions, slot_mapping, query_start, context_lens, block_tables,
                        max_blocks_per_seq, block_size, {}};
  }
  kv_layer cache() {
    return kv_layer{tensor::contiguous(k_cache.data(), dtype::f32, num_slots, width()),
                    tensor::contiguous(v_cache.data(), dtype::f32, num_slots, width())};
  }
  std::int64_t slot(std::int32_t seq, std::int32_t pos) const {
    return static_cast<std::int64_t>(block_tables[static_cast<std::size_t>(seq * max_blocks_per_seq + pos / block_size)]) *
               block_size + pos % block_size;
  }
};

attention_setup make_setup(const std::vector<seq_spec>& seqs, std::int32_t num_heads, std::int32_t num_kv_heads,
                           std::int32_t head_dim) {
  attention_setup s{num_heads, num_kv_heads, head_dim};
  std::int32_t num_blocks = 0;
  for (const auto& spec : seqs) {
    s.max_blocks_per_seq = std::max(s.max_blocks_per_seq, (spec.context_len + s.block_size - 1) / s.block_size + 1);
    num_blocks += (spec.context_len + s.block_size - 1) / s.block_size;
  }
  num_blocks += 3;  // blocks nobody owns, so a wrong block id reads the wrong data
  std::vector<std::int32_t> free_blocks(static_cast<std::size_t>(num_blocks));
  std::iota(free_blocks.begin(), free_blocks.end(), 0);
  std::shuffle(free_blocks.begin(), free_blocks.end(), std::mt19937(5));
  s.num_slots = static_cast<std::int64_t>(num_blocks) * s.block_size;
  s.block_tables.assign(seqs.size() * static_cast<std::size_t>(s.max_blocks_per_seq), -1);
  s.query_start.push_back(0);
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    const auto seq = static_cast<std::int32_t>(i);
    for (std::int32_t b = 0; b * s.block_size < seqs[i].context_len; ++b) {
      s.block_tables[i * static_cast<std::size_t>(s.max_blocks_per_seq) + static_cast<std::size_t>(b)] = free_blocks.back();
      free_blocks.pop_back();
    }
    for (std::int32_t pos = seqs[i].context_len - seqs[i].num_query_tokens; pos < seqs[i].context_len; ++pos) {
      s.token_ids.push_back(0);
      s.positions.push_back(pos);
      s.slot_mapping.push_back(s.slot(seq, pos));
    }
    s.query_start.push_back(static_cast<std::int32_t>(s.token_ids.size()));
    s.context_lens.push_back(seqs[i].context_len);
  }
  s.q = random_floats(s.token_ids.size() * static_cast<std::size_t>(s.q_width()), 21, -2.0f, 2.0f);
  s.k_cache = random_floats(static_cast<std::size_t>(s.num_slots * s.width()), 22, -2.0f, 2.0f);
  s.v_cache = random_floats(static_cast<std::size_t>(s.num_slots * s.width()), 23);
  return s;
}

std::vector<float> reference_attention(const attention_setup& s, float scale) {
  std::vector<float> out(s.q.size());
  const std::int32_t group = s.num_heads / s.num_kv_heads;
  for (std::size_t seq = 0; seq < s.context_lens.size(); ++seq) {
    for (std::int32_t t = s.query_start[seq]; t < s.query_start[seq + 1]; ++t) {
      const std::int32_t pos = s.positions[static_cast<std::size_t>(t)];
      for (std::int32_t h = 0; h < s.num_heads; ++h) {
        const std::int64_t kv_off = static_cast<std::int64_t>(h / group) * s.head_dim;
        const float* q = s.q.data() + t * s.q_width() + h * s.head_dim;
        std::vector<double> scores;
        for (std::int32_t j = 0; j <= pos; ++j) {
          const float* k = s.k_cache.data() + s.slot(static_cast<std::int32_t>(seq), j) * s.width() + kv_off;
          double dot = 0;
          for (std::int32_t c = 0; c < s.head_dim; ++c) dot += static_cast<double>(q[c]) * k[c];
          scores.push_back(dot * scale);
        }
        const double max_score = *std::max_element(scores.begin(), scores.end());
        double sum = 0;
        for (double& sc : scores) sum += (sc = std::exp(sc - max_score));
        for (std::int32_t c = 0; c < s.head_dim; ++c) {
          double acc = 0;
          for (std::int32_t j = 0; j <= pos; ++j)
            acc += scores[static_cast<std::size_t>(j)] *
                   s.v_cache[static_cast<std::size_t>(s.slot(static_cast<std::int32_t>(seq), j) * s.width() + kv_off + c)];
          out[static_cast<std::size_t>(t * s.q_width() + h * s.head_dim + c)] = static_cast<float>(acc / sum);
        }
      }
    }
  }
  return out;
}

std::vector<float> run_attention(backend& b, attention_setup& s, float scale) {
  std::vector<float> out(s.q.size(), -9.0f);
  const auto num_tokens = static_cast<std::int64_t>(s.token_ids.size());
  b.begin_step(s.layout());
  b.attention(tensor::contiguous(out.data(), dtype::f32, num_tokens, s.q_width()),
              tensor::contiguous(s.q.data(), dtype::f32, num_tokens, s.q_width()), s.cache(), s.num_heads,
              s.num_kv_heads, s.head_dim, scale);
  return out;
}

void expect_attention_matches(backend& b, const std::vector<seq_spec>& seqs, std::int32_t num_heads,
                              std::int32_t num_kv_heads, std::int32_t head_dim) {
  attention_setup s = make_setup(seqs, num_heads, num_kv_heads, head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::vector<float> got = run_attention(b, s, scale);
  const std::vector<float> expected = reference_attention(s, scale);
  std::int64_t num_bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - expected[i]) <= 1e-5f * (1.0f + std::fabs(expected[i]))) && num_bad++ < 5)
      ADD_FAILURE() << "out[" << i / static_cast<std::size_t>(s.q_width()) << "][" << i % static_cast<std::size_t>(s.q_width())
                    << "] = " << got[i] << ", expected " << expected[i];
  }
  EXPECT_EQ(num_bad, 0);
}

// Decode (1 token), chunked prefill from a non-zero context, full prefill, contexts at block
// boundaries, all in one step.
const std::vector<seq_spec> mixed_batch = {{1, 15}, {1, 16}, {1, 17}, {5, 37}, {33, 33}, {1, 32}, {16, 48}};

class cpu_attention : public ::testing::TestWithParam<cpu_isa> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << "this CPU cannot run " << cpu_isa_name(GetParam());
    backend_ = make_backend(GetParam(), 2);
  }
  std::unique_ptr<backend> backend_;
};

TEST_P(cpu_attention, decodes_one_token_at_context_lengths_around_block_boundaries) {
  for (std::int32_t len : {1, 15, 16, 17, 32, 33})
    expect_attention_matches(*backend_, {{1, len}}, 4, 2, 16);
}

TEST_P(cpu_attention, continues_a_chunked_prefill_from_a_nonzero_context) {
  expect_attention_matches(*backend_, {{7, 40}}, 4, 4, 16);
}

TEST_P(cpu_attention, runs_a_full_prefill_longer_than_a_query_tile) {
  expect_attention_matches(*backend_, {{50, 50}}, 2, 1, 8);
}

TEST_P(cpu_attention, serves_mixed_decode_and_prefill_sequences_in_one_step) {
  expect_attention_matches(*backend_, mixed_batch, 8, 2, 64);
}

TEST_P(cpu_attention, supports_gqa_ratios_1_2_4_8) {
  for (std::int32_t ratio : {1, 2, 4, 8}) expect_attention_matches(*backend_, mixed_batch, 2 * ratio, 2, 16);
}

TEST_P(cpu_attention, supports_head_dims_8_16_64_128) {
  for (std::int32_t head_dim : {8, 16, 64, 128}) expect_attention_matches(*backend_, mixed_batch, 4, 2, head_dim);
}

TEST_P(cpu_attention, gives_identical_results_on_one_and_two_threads) {
  attention_setup s = make_setup(mixed_batch, 8, 2, 64);
  auto one = make_backend(GetParam(), 1);
  EXPECT_EQ(run_attention(*one, s, 0.125f), run_attention(*backend_, s, 0.125f));
}

INSTANTIATE_TEST_SUITE_P(all, cpu_attention, ::testing::ValuesIn(all_isas),
                         [](const auto& info) { return isa_param_name(info.param); });

}  // namespace
}  // namespace troupe::testing
