#include "engine/backend/cpu/kernels.hpp"

namespace troupe::cpu {

namespace {

bool has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

bool has_avx512() {
  return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}

}  // namespace

std::int64_t attention_scratch_floats(const attention_args& args, std::int32_t max_queries) {
  const std::int64_t num_rows = static_cast<std::int64_t>(max_queries) * (args.num_heads / args.num_kv_heads);
  return num_rows * args.head_dim + 2 * num_rows + args.block_size;
}

const kernel_table* kernels_for(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::automatic:
      return nullptr;
    case cpu_isa::scalar:
      return &scalar_kernels;
    case cpu_isa::avx2:
      return has_avx2() ? &avx2_kernels : nullptr;
    case cpu_isa::avx512:
      return has_avx512() ? &avx512_kernels : nullptr;
  }
  return nullptr;
}

const bf16_dot_kernels* bf16_dot_kernels_if_supported() {
  return has_avx512() && __builtin_cpu_supports("avx512bf16") ? &avx512_bf16_dot_kernels : nullptr;
}

}  // namespace troupe::cpu

namespace troupe {

std::string_view cpu_isa_name(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::automatic: return "auto";
    case cpu_isa::scalar: return "scalar";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx512: return "avx512";
  }
  return "?";
}

bool cpu_supports(cpu_isa isa) {
  return isa == cpu_isa::automatic || cpu::kernels_for(isa) != nullptr;
}

}  // namespace troupe
