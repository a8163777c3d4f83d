#include "actors/process_signals.hpp"

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <string_view>

namespace troupe::actors {

sigset_t termination_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

void block_termination_signals() {
  const sigset_t set = termination_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void termination::request(int exit_code, std::string reason) {
  bool expected = false;
  if (!requested_.compare_exchange_strong(expected, true)) return;
  reason_ = std::move(reason);
  exit_code_ = exit_code;
  // Wake the waiting thread at once.
  ::kill(::getpid(), SIGTERM);
}

int termination::wait() {
  const sigset_t set = termination_signal_set();
  const timespec tick{.tv_sec = 0, .tv_nsec = 100'000'000};
  while (true) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig > 0) {
      bool expected = false;
      if (requested_.compare_exchange_strong(expected, true)) reason_ = sig == SIGINT ? "SIGINT" : "SIGTERM";
      return exit_code_;
    }
    if (requested_) return exit_code_;
  }
}

}  // namespace troupe::actors

#include "actors/process_main.hpp"

namespace troupe::actors {

void configure_caf(caf::actor_system_config& config) {
  const char* policy = std::getenv("TROUPE_CAF_SCHEDULER");  // "stealing" to compare
  const bool stealing = policy != nullptr && std::string_view(policy) == "stealing";
  config.set("scheduler.policy", stealing ? caf::atom("stealing") : caf::atom("sharing"));
}

}  // namespace troupe::actors
