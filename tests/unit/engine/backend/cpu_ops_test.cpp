// The row-wise operations of the CPU backend against scalar references written here.
#include <cmath>
#include <cstdint>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/engine/backend/cpu_test_support.hpp"

namespace troupe::testing {
namespace {

tensor view(std::vector<float>& v, std::int64_t rows, std::int64_t cols, std::int64_t stride = 0) {
  return tensor{v.data(), dtype::f32, rows, cols, stride > 0 ? stride : cols};
}

void expect_near_relative(const std::vector<float>& got, const std::vector<double>& expected, double relative) {
  ASSERT_EQ(got.size(), expected.size());
  std::int64_t num_bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - expected[i]) <= relative * (1.0 + std::fabs(expected[i]))) && num_bad++ < 5)
      ADD_FAILURE() << "[" << i << "] = " << got[i] << ", expected " << expected[i];
  }
  EXPECT_EQ(num_bad, 0);
}

// x * w / rms(x) in double, for each group of `d` values.
std::vector<double> reference_rms_norm(const std::vector<float>& x, const typed_matrix& w, std::int64_t d, float eps) {
  std::vector<double> out(x.size());
  for (std::size_t g = 0; g < x.size(); g += static_cast<std::size_t>(d)) {
    double sum = 0;
    for (std::int64_t i = 0; i < d; ++i) sum += static_cast<double>(x[g + static_cast<std::size_t>(i)]) * x[g + static_cast<std::size_t>(i)];
    const double inv = 1.0 / std::sqrt(sum / static_cast<double>(d) + eps);
    for (std::int64_t i = 0; i < d; ++i) out[g + static_cast<std::size_t>(i)] = x[g + static_cast<std::size_t>(i)] * inv * w.at(0, i);
  }
  return out;
}

// One step of three tokens at positions 5, 0 and 300, for the ops that read the layout.
struct small_step {
  std::vector<std::int32_t> token_ids{3, 0, 6};
  std::vector<std::int32_t> positions{5, 0, 300};
  std::vector<std::int64_t> slot_mapping{9, -1, 2};
  std::vector<std::int32_t> query_start{0, 1, 3};
  std::vector<std::int32_t> context_lens{6, 301};
  std::vector<std::int32_t> block_tables{0, 1};
  std::vector<std::int32_t> logits_rows{2, 0};
  batch_layout layout() const {
    return batch_layout{token_ids, positions, slot_mapping, query_start, context_lens, block_tables, 1, 16, logits_rows};
  }
};

class cpu_ops : public ::testing::TestWithParam<std::tuple<cpu_isa, dtype>> {
 protected:
  void SetUp() override {
    if (!cpu_supports(std::get<0>(GetParam()))) GTEST_SKIP() << "this CPU cannot run the kernels";
    backend_ = make_backend(std::get<0>(GetParam()), 2);
    backend_->begin_step(step_.layout());
  }
  dtype type() const { return std::get<1>(GetParam()); }
  std::unique_ptr<backend> backend_;
  small_step step_;
};

TEST_P(cpu_ops, embed_widens_the_rows_of_the_token_ids) {
  typed_matrix table = make_matrix(type(), 7, 37, 40, 31);
  std::vector<float> out(3 * 37);
  backend_->embed(view(out, 3, 37), table.view());
  std::vector<double> expected;
  for (std::int32_t id : step_.token_ids)
    for (std::int64_t c = 0; c < 37; ++c) expected.push_back(table.at(id, c));
  expect_near_relative(out, expected, 0);
}

TEST_P(cpu_ops, rms_norm_scales_each_row_in_place) {
  for (std::int64_t d : {1, 19, 64, 2048}) {
    std::vector<float> x = random_floats(static_cast<std::size_t>(5 * d), 32);
    typed_matrix w = make_matrix(type(), 1, d, d, 33);
    const std::vector<double> expected = reference_rms_norm(x, w, d, 1e-5f);
    backend_->rms_norm(view(x, 5, d), view(x, 5, d), w.view(), 1e-5f);
    expect_near_relative(x, expected, 1e-5);
  }
}

TEST_P(cpu_ops, add_rms_norm_updates_the_residual_and_normalises_it) {
  const std::int64_t d = 45;
  std::vector<float> residual = random_floats(4 * d, 34);
  const std::vector<float> delta = random_floats(4 * d, 35);
  typed_matrix w = make_matrix(type(), 1, d, d, 36);
  std::vector<float> sum(residual.size());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = residual[i] + delta[i];
  std::vector<float> out(residual.size());
  std::vector<float> delta_copy = delta;
  backend_->add_rms_norm(view(out, 4, d), view(residual, 4, d), view(delta_copy, 4, d), w.view(), 1e-6f);
  EXPECT_EQ(residual, sum);
  expect_near_relative(out, reference_rms_norm(sum, w, d, 1e-6f), 1e-5);
}

TEST_P(cpu_ops, head_rms_norm_normalises_each_head_separately) {
  const std::int64_t head_dim = 24;
  std::vector<float> x = random_floats(3 * 4 * head_dim, 37);
  typed_matrix w = make_matrix(type(), 1, head_dim, head_dim, 38);
  const std::vector<double> expected = reference_rms_norm(x, w, head_dim, 1e-6f);
  backend_->head_rms_norm(view(x, 3, 4 * head_dim), w.view(), 1e-6f);
  expect_near_relative(x, expected, 1e-5);
}

TEST_P(cpu_ops, rope_rotates_halves_of_each_head_at_the_token_positions) {
  const std::int64_t head_dim = 16;
  const std::int64_t half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i)
    inv_freq[static_cast<std::size_t>(i)] = static_cast<float>(std::pow(10000.0, -2.0 * static_cast<double>(i) / head_dim));
  std::vector<float> x = random_floats(3 * 3 * head_dim, 39);
  std::vector<double> expected(x.size());
  for (std::int64_t t = 0; t < 3; ++t) {
    for (std::int64_t h = 0; h < 3; ++h) {
      const std::size_t base = static_cast<std::size_t>((t * 3 + h) * head_dim);
      for (std::int64_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(step_.positions[static_cast<std::size_t>(t)]) * inv_freq[static_cast<std::size_t>(i)];
        const double x1 = x[base + static_cast<std::size_t>(i)];
        const double x2 = x[base + static_cast<std::size_t>(half + i)];
        expected[base + static_cast<std::size_t>(i)] = x1 * std::cos(angle) - x2 * std::sin(angle);
        expected[base + static_cast<std::size_t>(half + i)] = x2 * std::cos(angle) + x1 * std::sin(angle);
      }
    }
  }
  backend_->rope(view(x, 3, 3 * head_dim), rope_table{view(inv_freq, 1, half), static_cast<std::int32_t>(head_dim)});
  expect_near_relative(x, expected, 1e-5);
}

TEST_P(cpu_ops, silu_mul_multiplies_silu_of_gate_by_up) {
  for (std::int64_t cols : {1, 37, 3000}) {
    std::vector<float> gate = random_floats(static_cast<std::size_t>(2 * cols), 40, -8.0f, 8.0f);
    std::vector<float> up = random_floats(static_cast<std::size_t>(2 * cols), 41);
    std::vector<double> expected(gate.size());
    for (std::size_t i = 0; i < gate.size(); ++i) expected[i] = gate[i] / (1.0 + std::exp(-static_cast<double>(gate[i]))) * up[i];
    std::vector<float> out(gate.size());
    backend_->silu_mul(view(out, 2, cols), view(gate, 2, cols), view(up, 2, cols));
    expect_near_relative(out, expected, 1e-5);
  }
}

TEST_P(cpu_ops, gather_rows_copies_the_logits_rows) {
  std::vector<float> x = random_floats(3 * 10, 42);
  std::vector<float> out(2 * 5);
  backend_->gather_rows(view(out, 2, 5), view(x, 3, 5, 10));
  const std::vector<float> expected = {x[20], x[21], x[22], x[23], x[24], x[0], x[1], x[2], x[3], x[4]};
  EXPECT_EQ(out, expected);
}

TEST_P(cpu_ops, write_kv_stores_rows_at_their_slots_and_skips_negative_slots) {
  const std::int64_t width = 6;
  std::vector<float> k_cache(16 * width, 0.0f), v_cache(16 * width, 0.0f);
  std::vector<float> k = random_floats(3 * 8, 43), v = random_floats(3 * 8, 44);
  backend_->write_kv(kv_layer{view(k_cache, 16, width), view(v_cache, 16, width)}, view(k, 3, width, 8),
                     view(v, 3, width, 8));
  std::vector<float> expected_k(k_cache.size(), 0.0f), expected_v(v_cache.size(), 0.0f);
  for (auto [t, slot] : {std::pair<int, int>{0, 9}, {2, 2}}) {
    for (int c = 0; c < width; ++c) {
      expected_k[static_cast<std::size_t>(slot * width + c)] = k[static_cast<std::size_t>(t * 8 + c)];
      expected_v[static_cast<std::size_t>(slot * width + c)] = v[static_cast<std::size_t>(t * 8 + c)];
    }
  }
  EXPECT_EQ(k_cache, expected_k);
  EXPECT_EQ(v_cache, expected_v);
}

INSTANTIATE_TEST_SUITE_P(all, cpu_ops,
                         ::testing::Combine(::testing::ValuesIn(all_isas),
                                            ::testing::Values(dtype::f32, dtype::bf16, dtype::f16)),
                         [](const auto& info) {
                           return isa_param_name(std::get<0>(info.param)) + "_" +
                                  dtype_param_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace troupe::testing
