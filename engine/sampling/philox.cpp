#include "engine/sampling/philox.hpp"

namespace troupe {
namespace {

constexpr std::uint64_t multiplier_0 = 0xD2511F53u;
constexpr std::uint64_t multiplier_1 = 0xCD9E8D57u;
constexpr std::uint32_t weyl_0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t weyl_1 = 0xBB67AE85u;  // sqrt(3) - 1

philox_counter philox_round(const philox_counter& c, const philox_key& k) {
  const std::uint64_t product_0 = multiplier_0 * c[0];
  const std::uint64_t product_1 = multiplier_1 * c[2];
  return {static_cast<std::uint32_t>(product_1 >> 32) ^ c[1] ^ k[0],
          static_cast<std::uint32_t>(product_1),
          static_cast<std::uint32_t>(product_0 >> 32) ^ c[3] ^ k[1],
          static_cast<std::uint32_t>(product_0)};
}

}  // namespace

philox_counter philox4x32_10(philox_counter counter, philox_key key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += weyl_0;
      key[1] += weyl_1;
    }
    counter = philox_round(counter, key);
  }
  return counter;
}

double draw_uniform(std::uint64_t seed, std::uint64_t output_index) {
  const philox_counter bits = philox4x32_10(
      {static_cast<std::uint32_t>(output_index), static_cast<std::uint32_t>(output_index >> 32), 0, 0},
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)});
  const std::uint64_t word = (std::uint64_t{bits[0]} << 32 | bits[1]) >> 11;
  return static_cast<double>(word) * 0x1.0p-53;
}

}  // namespace troupe
