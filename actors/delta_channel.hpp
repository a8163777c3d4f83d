// A one-request mailbox between the actors (producers) and an HTTP thread (consumer): deltas are
// pushed by the deployment actor and popped by the request's completion_stream. Thread-safe.
// Closed after the final delta (finished or failed); later pushes are dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "api/completion_service.hpp"

namespace troupe::actors {

class delta_channel {
 public:
  // Returns false when the channel was already closed (the delta is dropped).
  bool push(api::completion_delta delta) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      closed_ = delta.finished.has_value() || delta.failed.has_value();
      queue_.push_back(std::move(delta));
    }
    ready_.notify_one();
    return true;
  }
  std::optional<api::completion_delta> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return std::nullopt;
    api::completion_delta d = std::move(queue_.front());
    queue_.pop_front();
    return d;
  }
  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<api::completion_delta> queue_;
  bool closed_ = false;
};

}  // namespace troupe::actors
