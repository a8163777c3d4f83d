// Helpers for the transport tests: a thread-safe record of callbacks, the region pattern shared
// with transport_test_peer, and its tiny text protocol.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "transport/transport.hpp"

namespace troupe::transport_test {

struct received_message {
  std::string peer;
  std::vector<std::byte> bytes;
  std::string text() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
};

// Records every callback of one transport; tests wait on it with a deadline.
class recorder {
 public:
  transport_callbacks callbacks() {
    return transport_callbacks{
        .on_message =
            [this](const std::string& peer, std::span<const std::byte> bytes) {
              std::lock_guard lock(mutex_);
              if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) ++num_misaligned_;
              messages_.push_back({peer, {bytes.begin(), bytes.end()}});
              changed_.notify_all();
            },
        .on_peer_connected =
            [this](const std::string& peer) {
              std::lock_guard lock(mutex_);
              connected_.push_back(peer);
              changed_.notify_all();
            },
        .on_peer_failed =
            [this](const std::string& peer, const std::string& reason) {
              std::lock_guard lock(mutex_);
              failed_.push_back(peer + ": " + reason);
              changed_.notify_all();
            }};
  }

  // Each waits until at least `count` such callbacks arrived or `timeout` passed; returns whether they did.
  bool wait_for_messages(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return wait([&] { return messages_.size() >= count; }, timeout);
  }
  bool wait_for_connected(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return wait([&] { return connected_.size() >= count; }, timeout);
  }
  bool wait_for_failed(std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return wait([&] { return failed_.size() >= count; }, timeout);
  }

  std::vector<received_message> messages() { std::lock_guard lock(mutex_); return messages_; }
  std::vector<std::string> connected() { std::lock_guard lock(mutex_); return connected_; }
  std::vector<std::string> failed() { std::lock_guard lock(mutex_); return failed_; }
  int num_misaligned() { std::lock_guard lock(mutex_); return num_misaligned_; }

 private:
  // `done` runs under the lock, so it reads the members directly.
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, done);
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<received_message> messages_;
  std::vector<std::string> connected_;
  std::vector<std::string> failed_;
  int num_misaligned_ = 0;
};

inline std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// The 64-bit word at index `i` of a region filled with `seed`.
inline std::uint64_t pattern_word(std::uint64_t seed, std::uint64_t i) {
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ seed * 0xD1B54A32D192ED03ull;
  x ^= x >> 29;
  return x;
}

inline void fill_pattern(std::span<std::byte> bytes, std::uint64_t seed) {
  for (std::size_t i = 0; i * 8 < bytes.size(); ++i) {
    const std::uint64_t word = pattern_word(seed, i);
    std::memcpy(bytes.data() + i * 8, &word, std::min<std::size_t>(8, bytes.size() - i * 8));
  }
}

// Index of the first byte that differs from the pattern, or -1 when all match.
inline long long first_pattern_mismatch(std::span<const std::byte> bytes, std::uint64_t seed) {
  for (std::size_t i = 0; i * 8 < bytes.size(); ++i) {
    const std::uint64_t word = pattern_word(seed, i);
    const std::size_t n = std::min<std::size_t>(8, bytes.size() - i * 8);
    if (std::memcmp(bytes.data() + i * 8, &word, n) != 0) return static_cast<long long>(i * 8);
  }
  return -1;
}

}  // namespace troupe::transport_test
