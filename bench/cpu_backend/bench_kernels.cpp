// troupe_bench_kernels: throughput of the CPU backend's linear() on decode and prefill shapes.
//
//   troupe_bench_kernels [--isa auto|avx512|avx2|scalar] [--seconds S]
//
// For each thread count (1, 2) and shape it prints the median time of one call, the weight
// bytes streamed per second (GB/s, the decode limit) and 2*n*k*m / time (GFLOP/s, the prefill
// limit). Weights rotate over enough copies (>= 128 MiB) that decode reads them from DRAM, not
// from the 32 MiB L3. Random data; the numbers do not depend on the values.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/cpu/cpu_backend.hpp"

namespace troupe {
namespace {

struct shape {
  const char* label;
  std::int64_t n, k, m;
  dtype type;
  bool bf16_dot;
};

struct bench_options {
  cpu_isa isa = cpu_isa::automatic;
  double seconds = 0.5;  // measuring time per shape
};

std::vector<std::byte> random_bytes(std::size_t size_bytes, dtype type) {
  std::vector<std::byte> bytes(size_bytes);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (std::size_t i = 0; i < size_bytes; i += dtype_size_bytes(type)) {
    const float f = dist(rng);
    // Upper half of the f32 bits: a valid bf16 and, for |f| < 1, a finite f16 too.
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    if (type == dtype::f32) std::memcpy(&bytes[i], &f, 4);
    else {
      const auto half = static_cast<std::uint16_t>(type == dtype::bf16 ? u >> 16 : 0x3c00u ^ (u & 0x83ffu));
      std::memcpy(&bytes[i], &half, 2);
    }
  }
  return bytes;
}

void run_shape(backend& b, const shape& s, std::int32_t num_threads, const bench_options& options) {
  const std::size_t weight_bytes = static_cast<std::size_t>(s.k * s.m) * dtype_size_bytes(s.type);
  const std::size_t num_copies = std::max<std::size_t>(1, (std::size_t{128} << 20) / weight_bytes + 1);
  const std::vector<std::byte> weights = random_bytes(weight_bytes * num_copies, s.type);
  std::vector<float> x(static_cast<std::size_t>(s.n * s.k), 0.5f);
  std::vector<float> out(static_cast<std::size_t>(s.n * s.m));
  const tensor x_view = tensor::contiguous(x.data(), dtype::f32, s.n, s.k);
  const tensor out_view = tensor::contiguous(out.data(), dtype::f32, s.n, s.m);
  auto call = [&](std::size_t i) {
    auto* w = const_cast<std::byte*>(weights.data() + (i % num_copies) * weight_bytes);
    b.linear(out_view, x_view, tensor::contiguous(w, s.type, s.m, s.k), tensor{});
  };
  for (std::size_t i = 0; i < num_copies; ++i) call(i);  // warm up: page in every copy
  std::vector<double> times_s;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; times_s.size() < 5 || std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < options.seconds; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    call(i);
    times_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times_s.begin(), times_s.end());
  const double median_s = times_s[times_s.size() / 2];
  std::printf("%-28s %4s %7lld x %5lld -> %5lld  %7.3f ms  %7.1f GB/s  %7.1f GFLOP/s%s\n", s.label,
              std::string(dtype_name(s.type)).c_str(), static_cast<long long>(s.n), static_cast<long long>(s.k),
              static_cast<long long>(s.m), median_s * 1e3, static_cast<double>(weight_bytes) / median_s * 1e-9,
              2.0 * static_cast<double>(s.n * s.k * s.m) / median_s * 1e-9, s.bf16_dot ? "  (bf16 dot)" : "");
}

bool parse(int argc, char** argv, bench_options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--isa" && i + 1 < argc) {
      const std::string_view v = argv[++i];
      bool found = false;
      for (cpu_isa isa : {cpu_isa::automatic, cpu_isa::scalar, cpu_isa::avx2, cpu_isa::avx512}) {
        if (cpu_isa_name(isa) == v) {
          options.isa = isa;
          found = true;
        }
      }
      if (!found) return false;
    } else if (arg == "--seconds" && i + 1 < argc) {
      options.seconds = std::stod(argv[++i]);
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace troupe

int main(int argc, char** argv) {
  using namespace troupe;
  bench_options options;
  if (!parse(argc, argv, options)) {
    std::fprintf(stderr, "usage: troupe_bench_kernels [--isa auto|avx512|avx2|scalar] [--seconds S]\n");
    return 2;
  }
  const shape shapes[] = {
      {"decode up/gate 2048->8192", 1, 2048, 8192, dtype::bf16, false},
      {"decode up/gate 2048->8192", 8, 2048, 8192, dtype::bf16, false},
      {"decode up/gate 2048->8192", 32, 2048, 8192, dtype::bf16, false},
      {"decode 4096->4096", 1, 4096, 4096, dtype::bf16, false},
      {"decode 4096->4096", 8, 4096, 4096, dtype::bf16, false},
      {"decode 4096->4096", 32, 4096, 4096, dtype::bf16, false},
      {"decode 4096->4096", 1, 4096, 4096, dtype::f32, false},
      {"prefill up/gate 2048->8192", 512, 2048, 8192, dtype::bf16, false},
      {"prefill 4096->4096", 512, 4096, 4096, dtype::bf16, false},
      {"prefill 4096->4096", 512, 4096, 4096, dtype::f32, false},
      {"prefill up/gate 2048->8192", 512, 2048, 8192, dtype::bf16, true},
      {"prefill 4096->4096", 512, 4096, 4096, dtype::bf16, true},
  };
  for (std::int32_t num_threads : {1, 2}) {
    for (bool bf16_dot : {false, true}) {
      auto made = make_cpu_backend({.num_threads = num_threads, .isa = options.isa, .bf16_dot_products = bf16_dot});
      if (!made) {
        std::fprintf(stderr, "%s\n", made.error().to_string().c_str());
        return 1;
      }
      if (!bf16_dot) std::printf("--- %d thread(s), kernels %s\n", num_threads, std::string(cpu_isa_name(options.isa)).c_str());
      for (const shape& s : shapes)
        if (s.bf16_dot == bf16_dot) run_shape(**made, s, num_threads, options);
    }
  }
  return 0;
}
