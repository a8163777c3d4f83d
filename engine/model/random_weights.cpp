#include "engine/model/random_weights.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace troupe {
namespace {

constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

// One 64-bit hash per pair of elements: element 2p takes bits 40..63 of hash(p), element 2p + 1
// bits 0..23. Each is uniform in [-1, 1) with 24 random bits, exact in float.
inline std::uint64_t pair_bits(std::uint64_t key, std::uint64_t pair) { return mix64(key + (pair + 1) * golden_gamma); }
inline float to_pm1(std::uint64_t bits24) { return static_cast<float>(bits24) * 0x1p-23f - 1.0f; }

// Calls store(i, value of element first + i) for i in [0, count).
template <class Store>
void fill_with(const random_tensor_init& init, std::int64_t first, std::int64_t count, Store store) {
  auto value = [&init](std::uint64_t bits24) { return init.offset + init.scale * to_pm1(bits24); };
  const auto pair_of = [first](std::int64_t i) { return static_cast<std::uint64_t>(first + i) / 2; };
  std::int64_t i = 0;
  if (count > 0 && first % 2 != 0) store(i++, value(pair_bits(init.key, pair_of(0)) & 0xffffff));
  for (; i + 1 < count; i += 2) {
    std::uint64_t bits = pair_bits(init.key, pair_of(i));
    store(i, value(bits >> 40));
    store(i + 1, value(bits & 0xffffff));
  }
  if (i < count) store(i, value(pair_bits(init.key, pair_of(i)) >> 40));
}

// float_to_bf16 for values known not to be NaN (generated weights).
inline std::uint16_t bf16_of_finite(float value) {
  auto bits = std::bit_cast<std::uint32_t>(value);
  return static_cast<std::uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

}  // namespace

std::uint16_t float_to_bf16(float value) {
  auto bits = std::bit_cast<std::uint32_t>(value);
  if (std::isnan(value)) return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  return bf16_of_finite(value);
}

std::uint16_t float_to_f16(float value) {
  auto bits = std::bit_cast<std::uint32_t>(value);
  auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  std::uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000) return static_cast<std::uint16_t>(sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0));
  if (magnitude >= 0x477ff000) return static_cast<std::uint16_t>(sign | 0x7c00);  // rounds past 65504: infinity
  if (magnitude < 0x38800000) {                                                    // below 2^-14: subnormal or zero
    // value * 2^24 rounded to nearest even is the subnormal mantissa (float rounding is RNE).
    float scaled = std::bit_cast<float>(magnitude) * 0x1p24f;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  std::uint32_t rounded = magnitude + 0xfff + ((magnitude >> 13) & 1);
  return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000) >> 13));
}

random_tensor_init random_init_for(const hf_tensor_spec& spec, std::uint64_t seed) {
  random_tensor_init init;
  init.key = mix64(seed ^ mix64(fnv1a64(spec.name)));
  switch (spec.kind) {
    case hf_tensor_kind::embedding:
    case hf_tensor_kind::matrix:
      init.scale = 1.0f / std::sqrt(static_cast<float>(spec.shape.size() == 2 ? spec.shape[1] : 1));
      break;
    case hf_tensor_kind::norm:
      init.offset = 1.0f;
      init.scale = 0.1f;
      break;
    case hf_tensor_kind::bias: init.scale = 0.02f; break;
  }
  return init;
}

void fill_random(const random_tensor_init& init, dtype type, std::int64_t first_element, std::int64_t num_elements,
                 std::byte* out) {
  switch (type) {
    case dtype::f32:
      fill_with(init, first_element, num_elements, [out](std::int64_t i, float v) { std::memcpy(out + 4 * i, &v, 4); });
      break;
    case dtype::bf16:
      fill_with(init, first_element, num_elements, [out](std::int64_t i, float v) {
        std::uint16_t h = bf16_of_finite(v);
        std::memcpy(out + 2 * i, &h, 2);
      });
      break;
    case dtype::f16:
      fill_with(init, first_element, num_elements, [out](std::int64_t i, float v) {
        std::uint16_t h = float_to_f16(v);
        std::memcpy(out + 2 * i, &h, 2);
      });
      break;
  }
}

}  // namespace troupe
