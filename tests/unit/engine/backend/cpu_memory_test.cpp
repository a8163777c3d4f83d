// Memory of the CPU backend: allocation, zero-copy weights, the KV cache layout, host copies,
// and the factory's errors.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/engine/backend/cpu_test_support.hpp"

namespace troupe::testing {
namespace {

TEST(cpu_backend, reports_its_name_and_f32_activations) {
  auto b = make_backend(cpu_isa::automatic, 1);
  EXPECT_EQ(b->name(), "cpu");
  EXPECT_EQ(b->activation_dtype(), dtype::f32);
}

TEST(cpu_backend, rejects_a_negative_thread_count) {
  auto made = make_cpu_backend({.num_threads = -1});
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error().code, errc::invalid_argument);
}

TEST(cpu_backend, rejects_a_kernel_set_the_cpu_lacks_or_accepts_it) {
  for (cpu_isa isa : all_isas) {
    auto made = make_cpu_backend({.num_threads = 1, .isa = isa});
    EXPECT_EQ(made.has_value(), cpu_supports(isa)) << cpu_isa_name(isa);
    if (!made) {
      EXPECT_EQ(made.error().code, errc::unsupported);
    }
  }
}

TEST(cpu_backend, allocates_64_byte_aligned_buffers) {
  auto b = make_backend(cpu_isa::automatic, 1);
  for (std::size_t size : {1, 3, 64, 1000}) {
    auto buffer = b->allocate(size);
    ASSERT_TRUE(buffer.has_value());
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->data()) % 64, 0u);
    EXPECT_EQ(buffer->size_bytes(), size);
  }
}

TEST(cpu_backend, uploads_weights_without_copying) {
  auto b = make_backend(cpu_isa::automatic, 1);
  std::vector<std::uint16_t> host(12);
  const tensor weight{host.data(), dtype::bf16, 3, 3, 4};
  auto uploaded = b->upload_weight(weight);
  ASSERT_TRUE(uploaded.has_value());
  EXPECT_EQ(uploaded->data, host.data());
  EXPECT_EQ(uploaded->row_stride, 4);
}

TEST(cpu_backend, allocates_a_zeroed_kv_cache_with_one_k_and_v_view_per_layer) {
  auto b = make_backend(cpu_isa::automatic, 1);
  const kv_cache_shape shape{.num_layers = 3, .num_blocks = 5, .block_size = 4, .num_kv_heads = 2, .head_dim = 8};
  auto cache = b->allocate_kv(shape);
  ASSERT_TRUE(cache.has_value());
  ASSERT_EQ(cache->layers.size(), 3u);
  EXPECT_EQ(cache->storage.size_bytes(), 3 * shape.num_blocks * shape.block_bytes_per_layer());
  const auto* base = static_cast<const float*>(cache->storage.data());
  for (std::size_t i = 0; i < cache->storage.size_bytes() / 4; ++i) ASSERT_EQ(base[i], 0.0f);
  for (std::size_t l = 0; l < 3; ++l) {
    const kv_layer& layer = cache->layers[l];
    EXPECT_EQ(layer.k.rows, 20);
    EXPECT_EQ(layer.k.cols, 16);
    EXPECT_EQ(layer.k.row_stride, 16);
    EXPECT_EQ(layer.k.type, dtype::f32);
    EXPECT_EQ(static_cast<const float*>(layer.k.data), base + l * 2 * 20 * 16);
    EXPECT_EQ(static_cast<const float*>(layer.v.data), base + (l * 2 + 1) * 20 * 16);
  }
}

TEST(cpu_backend, refuses_a_kv_cache_that_is_not_f32) {
  auto b = make_backend(cpu_isa::automatic, 1);
  auto cache = b->allocate_kv({.num_layers = 1, .num_blocks = 1, .block_size = 16, .num_kv_heads = 1, .head_dim = 8,
                               .type = dtype::bf16});
  ASSERT_FALSE(cache.has_value());
  EXPECT_EQ(cache.error().code, errc::unsupported);
}

TEST(cpu_backend, refuses_a_kv_cache_with_a_zero_dimension) {
  auto b = make_backend(cpu_isa::automatic, 1);
  auto cache = b->allocate_kv({.num_layers = 1, .num_blocks = 0, .block_size = 16, .num_kv_heads = 1, .head_dim = 8});
  ASSERT_FALSE(cache.has_value());
  EXPECT_EQ(cache.error().code, errc::invalid_argument);
}

TEST(cpu_backend, writes_and_reads_strided_tensors_row_by_row) {
  auto b = make_backend(cpu_isa::automatic, 1);
  std::vector<float> storage(3 * 5, -1.0f);
  const tensor t{storage.data(), dtype::f32, 3, 4, 5};
  const std::vector<float> host = random_floats(12, 51);
  b->write(t, host.data());
  for (int r = 0; r < 3; ++r) EXPECT_EQ(storage[static_cast<std::size_t>(r * 5 + 4)], -1.0f);
  std::vector<float> back(12);
  b->read(back.data(), t);
  EXPECT_EQ(back, host);
}

}  // namespace
}  // namespace troupe::testing
