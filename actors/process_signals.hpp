// Waiting for SIGINT/SIGTERM (or an internal request to stop) in a process's main thread.
// block_termination_signals() must run before any thread starts so that every thread inherits
// the mask and only termination::wait() sees them.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include <csignal>

namespace troupe::actors {

// SIGINT and SIGTERM.
sigset_t termination_signal_set();
void block_termination_signals();

class termination {
 public:
  // Ask the waiting main thread to stop with `exit_code` (thread-safe; the first request wins).
  void request(int exit_code, std::string reason);
  // Blocks until SIGINT/SIGTERM or request(); returns the exit code (0 for a signal).
  int wait();
  const std::string& reason() const { return reason_; }

 private:
  std::atomic<bool> requested_{false};
  std::atomic<int> exit_code_{0};
  std::string reason_;
};

}  // namespace troupe::actors
