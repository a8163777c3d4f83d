// The Hello handshake as plain structs, and their Cap'n Proto encoding (schema/hello.capnp).
// Decoding trusts nothing: a malformed, truncated or oversized buffer is an errc::parse_error
// naming the problem, never an exception or an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "engine/common/result.hpp"
#include "transport/aligned_buffer.hpp"

namespace troupe::transport_detail {

inline constexpr std::size_t max_process_name_bytes = 256;
inline constexpr std::size_t max_worker_address_bytes = 64 << 10;
inline constexpr std::size_t max_reason_bytes = 1024;

struct hello {
  std::uint32_t protocol_version = 0;
  std::string process_name;
  std::vector<std::byte> worker_address;  // packed UCX worker address
};

struct hello_reply {
  bool accepted = false;
  std::uint32_t protocol_version = 0;
  std::string process_name;
  std::vector<std::byte> worker_address;  // empty when rejected
  std::string reason;                     // why it was rejected; empty when accepted
};

using handshake = std::variant<hello, hello_reply>;

aligned_buffer encode_handshake(const handshake& message);
// `bytes` must be 8-byte aligned (an aligned_buffer or a UCX receive buffer that is).
result<handshake> decode_handshake(std::span<const std::byte> bytes);

}  // namespace troupe::transport_detail
