// The CPU backend: fp32 activations, f32/bf16/f16 weights read in place from the mapped
// checkpoint, kernels chosen at run time for the CPU (AVX-512, AVX2+FMA+F16C, or portable
// scalar code), a fixed thread pool, paged attention over an f32 KV cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/backend/backend.hpp"
#include "engine/common/result.hpp"

namespace troupe {

// Kernel sets; automatic picks the widest one the CPU supports.
enum class cpu_isa : std::uint8_t { automatic, scalar, avx2, avx512 };

std::string_view cpu_isa_name(cpu_isa isa);  // "auto", "scalar", "avx2", "avx512"
// Whether this CPU can run the kernel set (automatic and scalar: always).
bool cpu_supports(cpu_isa isa);

struct cpu_backend_options {
  std::int32_t num_threads = 0;      // threads in all, the caller's included; 0 = hardware threads
  cpu_isa isa = cpu_isa::automatic;  // force a kernel set (tests, benchmarks)
  // Opt-in, off by default: linear() with bf16 weights and many rows rounds the activations to
  // bf16 and uses AVX-512-BF16 dot products (vdpbf16ps, f32 accumulation). Faster prefill, but
  // no longer fp32 arithmetic: errors grow to about 2^-9 relative per product. Ignored where the
  // CPU lacks AVX512_BF16 or the kernel set is not avx512.
  bool bf16_dot_products = false;
};

// Fails with invalid_argument for a negative thread count and unsupported for a kernel set this
// CPU cannot run.
result<std::unique_ptr<backend>> make_cpu_backend(const cpu_backend_options& options);

}  // namespace troupe
