// An owned, 8-byte aligned byte buffer: Cap'n Proto readers need word alignment
// (DEPENDENCIES.md), and on_message promises aligned bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace troupe::transport_detail {

class aligned_buffer {
 public:
  aligned_buffer() = default;
  // Uninitialised storage for `size_bytes` bytes.
  static aligned_buffer with_size(std::size_t size_bytes) {
    aligned_buffer buffer;
    buffer.words_ = std::make_unique_for_overwrite<std::uint64_t[]>((size_bytes + 7) / 8);
    buffer.size_bytes_ = size_bytes;
    return buffer;
  }
  static aligned_buffer copy_of(std::span<const std::byte> bytes) {
    aligned_buffer buffer = with_size(bytes.size());
    if (!bytes.empty()) std::memcpy(buffer.data(), bytes.data(), bytes.size());
    return buffer;
  }

  std::byte* data() { return reinterpret_cast<std::byte*>(words_.get()); }
  const std::byte* data() const { return reinterpret_cast<const std::byte*>(words_.get()); }
  std::size_t size_bytes() const { return size_bytes_; }
  std::span<const std::byte> bytes() const { return {data(), size_bytes_}; }

 private:
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t size_bytes_ = 0;
};

}  // namespace troupe::transport_detail
