// A read-only memory mapping of a whole file: RAII, move-only, one owner. The bytes stay at the
// same address for the mapping's lifetime (moving the handle does not move them).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

#include "engine/common/result.hpp"

namespace troupe {

class mapped_file {
 public:
  // Maps `path` read-only (PROT_READ, MAP_PRIVATE). An empty file maps to an empty span.
  static result<mapped_file> open(const std::filesystem::path& path);

  mapped_file() = default;
  mapped_file(mapped_file&& other) noexcept { swap(other); }
  mapped_file& operator=(mapped_file&& other) noexcept {
    mapped_file moved(std::move(other));
    swap(moved);
    return *this;
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  ~mapped_file();

  // Read-only: writing through these bytes faults.
  std::span<const std::byte> bytes() const { return {data_, size_bytes_}; }
  std::size_t size_bytes() const { return size_bytes_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void swap(mapped_file& other) noexcept;

  const std::byte* data_ = nullptr;
  std::size_t size_bytes_ = 0;
  std::filesystem::path path_;
};

}  // namespace troupe
