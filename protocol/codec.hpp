// Converts wire::envelope <-> bytes (a flat Cap'n Proto message of schema/troupe.capnp).
//
// encode() never fails for a well-formed envelope. decode() trusts nothing: any byte string —
// truncated, misaligned, oversized, from a newer protocol version, with unknown enum values or
// union members, with negative counts or out-of-range floats — gives an errc::parse_error whose
// message names the field ("step_plan.scheduled[2].num_new_tokens must be >= 0, got -1"); it never
// throws, aborts or reads out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"
#include "protocol/messages.hpp"

namespace troupe::wire {

struct decode_limits {
  std::size_t max_message_bytes = std::size_t{16} << 20;  // larger inputs are rejected unread
  std::uint64_t traversal_limit_words = std::uint64_t{8} << 20;  // Cap'n Proto amplification guard
  int nesting_limit = 16;  // struct/list depth; the schema needs 5
};

// The longest actor, node, replica and device name accepted (source, target, node_name, ...).
inline constexpr std::size_t max_name_bytes = 1024;

// The message as one flat Cap'n Proto array (segment table + segments), a multiple of 8 bytes.
std::vector<std::byte> encode(const envelope& message);

// Parses and validates one message. `bytes` need not be 8-byte aligned (an unaligned span is
// copied into a word buffer first). The result owns all its data; `bytes` may be freed afterwards.
result<envelope> decode(std::span<const std::byte> bytes, const decode_limits& limits = {});

// The message type's name as in messages.hpp ("join_request", "step_plan"), for logs.
std::string_view body_name(const body& message);

}  // namespace troupe::wire
