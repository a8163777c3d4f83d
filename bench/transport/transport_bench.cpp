// troupe_bench_transport [--tls UCX_TLS] [--rounds N] [--message-bytes B] [--rma-bytes B] [--rma-iterations N]
//
// Starts itself again as the server ("--serve"), connects to it over loopback and measures:
//   - round trip of a small message through the public API (send -> peer's on_message echoes
//     with send -> on_message here): p50/p99/mean over --rounds ping-pongs after 10% warm-up;
//   - get and put bandwidth of one --rma-bytes transfer (put includes the flush), best and mean
//     over --rma-iterations.
// Prints which UCX transports the control and bulk endpoints use.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "transport/transport.hpp"

extern char** environ;

namespace {

using namespace troupe;
using clock_type = std::chrono::steady_clock;

struct bench_options {
  std::string tls;
  int rounds = 10000;
  std::size_t message_bytes = 100;
  std::size_t rma_bytes = 64 << 20;
  int rma_iterations = 10;
};

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// Server: echoes every message; on connect sends "region <address> <size> <rkey hex>".
int serve(const bench_options& options) {
  std::mutex mutex;
  std::condition_variable changed;
  std::string connected_peer;
  std::unique_ptr<transport> self;
  auto created = transport::create(
      transport_options{.process_name = "bench-server", .ucx_tls = options.tls, .max_message_bytes = 64 << 20},
      transport_callbacks{.on_message = [&](const std::string& peer,
                                            std::span<const std::byte> bytes) { (void)self->send(peer, bytes); },
                          .on_peer_connected =
                              [&](const std::string& peer) {
                                std::lock_guard lock(mutex);
                                connected_peer = peer;
                                changed.notify_all();
                              }});
  if (!created) {
    fmt::print(stderr, "server: {}\n", created.error().message);
    return 1;
  }
  self = std::move(created).value();
  auto region = self->allocate_region(options.rma_bytes);
  if (!region) {
    fmt::print(stderr, "server: {}\n", region.error().message);
    return 1;
  }
  std::memset((*region)->data(), 0x5a, options.rma_bytes);
  fmt::print("ADDR {}\n", self->listen_address());
  std::fflush(stdout);
  {
    std::unique_lock lock(mutex);
    if (!changed.wait_for(lock, std::chrono::seconds(30), [&] { return !connected_peer.empty(); })) return 1;
  }
  const remote_region remote = self->describe(**region);
  std::string rkey_hex;
  for (std::byte b : remote.packed_rkey) rkey_hex += fmt::format("{:02x}", static_cast<unsigned>(b));
  (void)self->send(connected_peer, as_bytes(fmt::format("region {} {} {}", remote.address, remote.size_bytes, rkey_hex)));
  // Runs until the client closes stdin (or 10 minutes pass).
  pollfd fd{.fd = 0, .events = POLLIN, .revents = 0};
  char c;
  while (poll(&fd, 1, 600000) > 0 && ::read(0, &c, 1) > 0) {
  }
  self.reset();
  return 0;
}

struct inbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> texts;  // messages starting with "region"
  std::atomic<std::uint64_t> num_echoes{0};

  transport_callbacks callbacks() {
    return {.on_message = [this](const std::string&, std::span<const std::byte> bytes) {
      std::lock_guard lock(mutex);
      if (bytes.size() > 6 && std::memcmp(bytes.data(), "region", 6) == 0) {
        texts.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      } else {
        num_echoes.fetch_add(1);
      }
      changed.notify_all();
    }};
  }
  bool wait(const std::function<bool()>& done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), done);
  }
};

double percentile(std::vector<double> values, double rank) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(rank / 100.0 * values.size()))];
}

void measure_latency(transport& client, inbox& box, const bench_options& options) {
  const std::string message(options.message_bytes, 'p');
  const int warmup = std::max(1, options.rounds / 10);
  std::vector<double> round_trips_us;
  round_trips_us.reserve(options.rounds);
  for (int i = 0; i < warmup + options.rounds; ++i) {
    const std::uint64_t expected = box.num_echoes.load() + 1;
    const auto started = clock_type::now();
    if (!client.send("bench-server", as_bytes(message))) return;
    if (!box.wait([&] { return box.num_echoes.load() >= expected; })) {
      fmt::print(stderr, "no echo within 10 s\n");
      return;
    }
    if (i >= warmup) {
      round_trips_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - started).count());
    }
  }
  double sum = 0;
  for (double v : round_trips_us) sum += v;
  fmt::print("round trip of a {}-byte message, {} rounds: p50 {:.1f} us, p99 {:.1f} us, mean {:.1f} us\n",
             options.message_bytes, options.rounds, percentile(round_trips_us, 50), percentile(round_trips_us, 99),
             sum / round_trips_us.size());
}

void measure_bandwidth(transport& client, const remote_region& remote, const bench_options& options) {
  auto local = client.allocate_region(options.rma_bytes);
  if (!local) {
    fmt::print(stderr, "{}\n", local.error().message);
    return;
  }
  std::span<std::byte> bytes((*local)->data(), options.rma_bytes);
  std::memset(bytes.data(), 0xa5, bytes.size());
  for (const bool is_put : {false, true}) {
    double best = 0, total_seconds = 0;
    for (int i = 0; i < options.rma_iterations + 1; ++i) {  // first one is warm-up (rkey unpack, page faults)
      const auto started = clock_type::now();
      status done = is_put ? client.put("bench-server", remote, 0, bytes).get()
                           : client.get("bench-server", remote, 0, bytes).get();
      const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
      if (!done) {
        fmt::print(stderr, "{}\n", done.error().message);
        return;
      }
      if (i == 0) continue;
      total_seconds += seconds;
      best = std::max(best, options.rma_bytes / seconds / 1e9);
    }
    fmt::print("{} of {} MiB, {} iterations: best {:.2f} GB/s, mean {:.2f} GB/s\n", is_put ? "put" : "get",
               options.rma_bytes >> 20, options.rma_iterations, best,
               options.rma_bytes * options.rma_iterations / total_seconds / 1e9);
  }
}

remote_region parse_region(const std::string& text) {
  std::istringstream in(text);
  std::string word, hex;
  remote_region region;
  in >> word >> region.address >> region.size_bytes >> hex;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    region.packed_rkey.push_back(std::byte(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return region;
}

// Lines of ucp_ep_print_info naming lanes, prefixed per endpoint.
void print_lanes(const std::string& description) {
  std::istringstream in(description);
  for (std::string line; std::getline(in, line);) {
    if (line.find("endpoint") != std::string::npos && line[0] != '#') fmt::print("{}\n", line);
    if (line.find("lane[") != std::string::npos) fmt::print("  {}\n", line.substr(line.find("lane[")));
  }
}

int run_client(const bench_options& options) {
  int to_child[2], from_child[2];
  // O_CLOEXEC: the child keeps only the dup2'ed ends, so closing ours gives it EOF.
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return 1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  std::vector<std::string> args = {"/proc/self/exe", "--serve", "--rma-bytes", std::to_string(options.rma_bytes)};
  if (!options.tls.empty()) args.insert(args.end(), {"--tls", options.tls});
  std::vector<char*> child_argv;
  for (auto& a : args) child_argv.push_back(a.data());
  child_argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, child_argv.data(), environ) != 0) return 1;
  ::close(to_child[0]);
  ::close(from_child[1]);
  std::string line;
  for (char c; ::read(from_child[0], &c, 1) == 1 && c != '\n';) line += c;
  int rc = 1;
  if (line.rfind("ADDR ", 0) == 0) {
    inbox box;
    auto created = transport::create(transport_options{.process_name = "bench-client", .ucx_tls = options.tls,
                                                       .max_message_bytes = 64 << 20},
                                     box.callbacks());
    if (created) {
      std::unique_ptr<transport> client = std::move(created).value();
      const auto started = clock_type::now();
      auto peer = client->connect(line.substr(5));
      if (peer) {
        fmt::print("connect + handshake: {:.1f} ms (UCX_TLS '{}')\n",
                   std::chrono::duration<double, std::milli>(clock_type::now() - started).count(),
                   options.tls.empty() ? "<UCX default>" : options.tls);
        if (box.wait([&] { return !box.texts.empty(); })) {
          const remote_region remote = parse_region(box.texts[0]);
          measure_latency(*client, box, options);
          measure_bandwidth(*client, remote, options);
          print_lanes(client->describe_peer("bench-server"));
          rc = 0;
        }
      } else {
        fmt::print(stderr, "{}\n", peer.error().message);
      }
    } else {
      fmt::print(stderr, "{}\n", created.error().message);
    }
  }
  ::close(to_child[1]);  // the server exits on EOF
  waitpid(pid, nullptr, 0);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options options;
  bool server = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", arg);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--serve") server = true;
    else if (arg == "--tls") options.tls = next();
    else if (arg == "--rounds") options.rounds = std::stoi(next());
    else if (arg == "--message-bytes") options.message_bytes = std::stoull(next());
    else if (arg == "--rma-bytes") options.rma_bytes = std::stoull(next());
    else if (arg == "--rma-iterations") options.rma_iterations = std::stoi(next());
    else {
      fmt::print(stderr, "unknown argument {}\n", arg);
      return 2;
    }
  }
  if (options.rounds <= 0 || options.rma_iterations <= 0 || options.rma_bytes == 0 || options.message_bytes == 0) {
    fmt::print(stderr, "--rounds, --rma-iterations, --rma-bytes and --message-bytes must be positive\n");
    return 2;
  }
  return server ? serve(options) : run_client(options);
}
