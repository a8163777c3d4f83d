// transport_test_peer <region_bytes> [ucx_tls]: the second process of transport_process_test.cpp.
// Listens as "node0", prints "ADDR host:port" on stdout, and when "head" connects sends it
// "region <address> <size> <rkey hex>" for a region filled with pattern seed 1. Then answers:
//   "check <seed>" -> "check ok" | "check bad <byte index>"
//   "exit"         -> exits 0
// It exits by itself when stdin closes (the test died) or after 60 s.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>

#include "test_support.hpp"

using namespace troupe;
using namespace troupe::transport_test;

namespace {

std::string to_hex(const std::vector<std::byte>& bytes) {
  std::string out;
  for (std::byte b : bytes) out += fmt::format("{:02x}", static_cast<unsigned>(b));
  return out;
}

bool stdin_closed() {
  pollfd fd{.fd = 0, .events = POLLIN, .revents = 0};
  if (poll(&fd, 1, 0) <= 0) return false;
  char c;
  return ::read(0, &c, 1) <= 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: transport_test_peer <region_bytes> [ucx_tls]\n");
    return 2;
  }
  const std::size_t region_bytes = std::stoull(argv[1]);
  recorder events;
  auto created = transport::create(
      transport_options{.process_name = "node0", .ucx_tls = argc > 2 ? argv[2] : ""}, events.callbacks());
  if (!created) {
    std::fprintf(stderr, "transport_test_peer: %s\n", created.error().message.c_str());
    return 1;
  }
  std::unique_ptr<transport> self = std::move(created).value();
  auto region = self->allocate_region(region_bytes);
  if (!region) {
    std::fprintf(stderr, "transport_test_peer: %s\n", region.error().message.c_str());
    return 1;
  }
  fill_pattern({(*region)->data(), region_bytes}, 1);
  std::printf("ADDR %s\n", self->listen_address().c_str());
  std::fflush(stdout);

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool sent_region = false;
  std::size_t num_handled = 0;
  while (std::chrono::steady_clock::now() < deadline && !stdin_closed()) {
    if (!sent_region && !events.connected().empty()) {
      const remote_region remote = self->describe(**region);
      (void)self->send("head", as_bytes(fmt::format("region {} {} {}", remote.address, remote.size_bytes,
                                                    to_hex(remote.packed_rkey))));
      sent_region = true;
    }
    events.wait_for_messages(num_handled + 1, std::chrono::milliseconds(50));
    const auto messages = events.messages();
    for (; num_handled < messages.size(); ++num_handled) {
      const std::string text = messages[num_handled].text();
      if (text == "exit") return 0;
      if (text.rfind("check ", 0) == 0) {
        const long long bad = first_pattern_mismatch({(*region)->data(), region_bytes}, std::stoull(text.substr(6)));
        (void)self->send("head", as_bytes(bad < 0 ? std::string("check ok") : fmt::format("check bad {}", bad)));
      }
    }
  }
  return 0;
}
