// linear() of the CPU backend against a scalar double-precision reference written here, for
// every kernel set this CPU runs and every weight dtype.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/engine/backend/cpu_test_support.hpp"

namespace troupe::testing {
namespace {

struct linear_case {
  std::int64_t n = 1;
  std::int64_t k = 16;
  std::int64_t m = 8;
  std::int64_t x_stride = 0;  // 0: contiguous
  std::int64_t w_stride = 0;
  std::int64_t out_stride = 0;
  bool with_bias = false;
};

struct linear_run {
  std::vector<float> out;
  std::vector<float> expected;
  std::vector<float> bound;  // allowed |out - expected| per element
  std::int64_t out_stride = 0;
};

// Runs linear on `b` and the reference; the bound is relative to sum |x w| (the size of the terms,
// so cancellation does not make the test flaky) with `relative` per unit.
linear_run run_linear(backend& b, dtype type, const linear_case& c, float relative) {
  const std::int64_t xs = c.x_stride > 0 ? c.x_stride : c.k;
  const std::int64_t ws = c.w_stride > 0 ? c.w_stride : c.k;
  const std::int64_t os = c.out_stride > 0 ? c.out_stride : c.m;
  std::vector<float> x = random_floats(static_cast<std::size_t>(c.n * xs), 11);
  typed_matrix w = make_matrix(type, c.m, c.k, ws, 12);
  std::vector<float> bias = random_floats(static_cast<std::size_t>(c.m), 13);
  linear_run run{std::vector<float>(static_cast<std::size_t>(c.n * os), -7.0f), {}, {}, os};
  const tensor bias_view = c.with_bias ? tensor::contiguous(bias.data(), dtype::f32, 1, c.m) : tensor{};
  b.linear(tensor{run.out.data(), dtype::f32, c.n, c.m, os}, tensor{x.data(), dtype::f32, c.n, c.k, xs}, w.view(),
           bias_view);
  for (std::int64_t i = 0; i < c.n; ++i) {
    for (std::int64_t j = 0; j < c.m; ++j) {
      double sum = c.with_bias ? bias[static_cast<std::size_t>(j)] : 0.0;
      double magnitude = std::fabs(sum);
      for (std::int64_t p = 0; p < c.k; ++p) {
        const double term = static_cast<double>(x[static_cast<std::size_t>(i * xs + p)]) * w.at(j, p);
        sum += term;
        magnitude += std::fabs(term);
      }
      run.expected.push_back(static_cast<float>(sum));
      run.bound.push_back(static_cast<float>(relative * magnitude + 1e-6));
    }
  }
  return run;
}

void expect_close(const linear_run& run, const linear_case& c) {
  std::int64_t num_bad = 0;
  for (std::int64_t i = 0; i < c.n; ++i) {
    for (std::int64_t j = 0; j < c.m; ++j) {
      const float got = run.out[static_cast<std::size_t>(i * run.out_stride + j)];
      const auto e = static_cast<std::size_t>(i * c.m + j);
      if (!(std::fabs(got - run.expected[e]) <= run.bound[e]) && num_bad++ < 5)
        ADD_FAILURE() << "out[" << i << "][" << j << "] = " << got << ", expected " << run.expected[e];
    }
    // Padding between rows of a strided output stays untouched.
    for (std::int64_t j = c.m; j < run.out_stride; ++j)
      ASSERT_EQ(run.out[static_cast<std::size_t>(i * run.out_stride + j)], -7.0f);
  }
  EXPECT_EQ(num_bad, 0);
}

class cpu_linear : public ::testing::TestWithParam<std::tuple<cpu_isa, dtype>> {
 protected:
  void SetUp() override {
    if (!cpu_supports(isa())) GTEST_SKIP() << "this CPU cannot run " << cpu_isa_name(isa());
  }
  cpu_isa isa() const { return std::get<0>(GetParam()); }
  dtype type() const { return std::get<1>(GetParam()); }
  void check(const linear_case& c, std::int32_t num_threads = 2) {
    auto b = make_backend(isa(), num_threads);
    expect_close(run_linear(*b, type(), c, 1e-5f), c);
  }
};

TEST_P(cpu_linear, computes_one_row) { check({.n = 1, .k = 64, .m = 40}); }

TEST_P(cpu_linear, computes_decode_rows_not_multiple_of_the_tile) {
  for (std::int64_t n : {2, 3, 5, 7, 9}) check({.n = n, .k = 48, .m = 21});
}

TEST_P(cpu_linear, computes_k_not_multiple_of_the_vector_width) {
  for (std::int64_t k : {1, 7, 13, 67}) check({.n = 3, .k = k, .m = 17});
}

TEST_P(cpu_linear, computes_prefill_rows_not_multiple_of_the_tile) { check({.n = 77, .k = 45, .m = 29}); }

TEST_P(cpu_linear, computes_prefill_over_several_k_blocks) { check({.n = 70, .k = 600, .m = 30}); }

TEST_P(cpu_linear, adds_the_bias_in_decode_and_prefill) {
  check({.n = 2, .k = 33, .m = 19, .with_bias = true});
  check({.n = 70, .k = 300, .m = 19, .with_bias = true});
}

TEST_P(cpu_linear, reads_and_writes_strided_views) {
  check({.n = 3, .k = 35, .m = 20, .x_stride = 41, .w_stride = 50, .out_stride = 27});
  check({.n = 70, .k = 35, .m = 20, .x_stride = 41, .w_stride = 50, .out_stride = 27});
}

TEST_P(cpu_linear, runs_on_one_thread) {
  check({.n = 4, .k = 128, .m = 300}, 1);
  check({.n = 64, .k = 128, .m = 300}, 1);
}

TEST_P(cpu_linear, gives_identical_results_on_one_and_two_threads) {
  for (std::int64_t n : {1, 6, 40, 70}) {
    const linear_case c{.n = n, .k = 200, .m = 500, .with_bias = true};
    auto one = make_backend(isa(), 1);
    auto two = make_backend(isa(), 2);
    EXPECT_EQ(run_linear(*one, type(), c, 0).out, run_linear(*two, type(), c, 0).out) << "n = " << n;
  }
}

INSTANTIATE_TEST_SUITE_P(all, cpu_linear,
                         ::testing::Combine(::testing::ValuesIn(all_isas),
                                            ::testing::Values(dtype::f32, dtype::bf16, dtype::f16)),
                         [](const auto& info) {
                           return isa_param_name(std::get<0>(info.param)) + "_" +
                                  dtype_param_name(std::get<1>(info.param));
                         });

// The opt-in bf16 dot-product path rounds x to bf16: each product is off by up to 2^-8
// relative, so it is held to 2^-8 of sum |x w| instead of 1e-5.
TEST(cpu_linear_bf16_dot, stays_within_bf16_rounding_of_the_reference) {
  if (!cpu_supports(cpu_isa::avx512)) GTEST_SKIP() << "no AVX-512";
  auto b = make_backend(cpu_isa::avx512, 2, true);
  for (const linear_case& c : {linear_case{.n = 77, .k = 301, .m = 29, .with_bias = true},
                               linear_case{.n = 40, .k = 1100, .m = 50, .x_stride = 1111, .w_stride = 1105}})
    expect_close(run_linear(*b, dtype::bf16, c, 1.0f / 256), c);
}

TEST(cpu_linear_bf16_dot, leaves_decode_rows_in_fp32) {
  if (!cpu_supports(cpu_isa::avx512)) GTEST_SKIP() << "no AVX-512";
  auto b = make_backend(cpu_isa::avx512, 2, true);
  const linear_case c{.n = 3, .k = 100, .m = 20};
  expect_close(run_linear(*b, dtype::bf16, c, 1e-5f), c);
}

}  // namespace
}  // namespace troupe::testing
