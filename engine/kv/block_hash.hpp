// The hash chain that names full KV blocks in the prefix cache.
//
//   hash_0 = H(kRootBlockHash, tokens[0 .. B))
//   hash_i = H(hash_{i-1},     tokens[i*B .. (i+1)*B))      B = block_size
//
// so a block's hash depends on every token before it: equal hashes mean equal prefixes (up to a
// 64-bit collision, which block_manager guards against by also comparing the stored tokens and the
// parent hash on every hit).
#pragma once

#include <cstdint>
#include <span>

#include "engine/common/ids.hpp"

namespace troupe {

// The parent hash of the first block of every sequence.
inline constexpr std::uint64_t kRootBlockHash = 0x6a09e667f3bcc908ULL;

// A block hash function: (parent block's hash, this block's token ids) -> this block's hash.
using block_hash_fn = std::uint64_t (*)(std::uint64_t parent_hash,
                                        std::span<const token_id> tokens);

// The default: an XXH64-style mix (not bit-compatible with XXH64) of the parent hash, the token
// count and every token id, with a full avalanche at the end. Deterministic across runs and hosts.
std::uint64_t hash_block_tokens(std::uint64_t parent_hash, std::span<const token_id> tokens);

}  // namespace troupe
