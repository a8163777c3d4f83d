#include "engine/kv/block_hash.hpp"

#include <bit>

namespace troupe {
namespace {

// The XXH64 primes.
constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

constexpr std::uint64_t token_bits(token_id t) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(t));
}

// Mixes one 64-bit word into the accumulator (XXH64's 8-byte step).
constexpr std::uint64_t mix_word(std::uint64_t acc, std::uint64_t word) {
  acc ^= std::rotl(word * kPrime2, 31) * kPrime1;
  return std::rotl(acc, 27) * kPrime1 + kPrime4;
}

constexpr std::uint64_t avalanche(std::uint64_t h) {
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace

std::uint64_t hash_block_tokens(std::uint64_t parent_hash, std::span<const token_id> tokens) {
  std::uint64_t acc = mix_word(parent_hash + kPrime5, static_cast<std::uint64_t>(tokens.size()));
  std::size_t i = 0;
  for (; i + 1 < tokens.size(); i += 2) {
    acc = mix_word(acc, token_bits(tokens[i]) | (token_bits(tokens[i + 1]) << 32));
  }
  if (i < tokens.size()) {
    // XXH64's 4-byte tail step.
    acc ^= token_bits(tokens[i]) * kPrime1;
    acc = std::rotl(acc, 23) * kPrime2 + kPrime3;
  }
  return avalanche(acc);
}

}  // namespace troupe
