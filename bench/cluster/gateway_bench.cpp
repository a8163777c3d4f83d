// Control-message round trip between two processes through the whole control path: CAF actor ->
// gateway -> Cap'n Proto encode -> UCX active message -> peer's gateway -> decode -> CAF actor,
// and back. The payload is a heartbeat (the smallest control message).
//
//   troupe_bench_gateway [--iterations 10000] [--tls tcp,sm,self] [--json]
//
// Prints p50/p99/mean round-trip time in microseconds. Compare with `ucx_perftest -t ucp_am_lat`
// on the same UCX_TLS (bench/cluster/run.sh runs both).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "actors/gateway.hpp"
#include "actors/process_main.hpp"
#include "actors/process_signals.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<std::promise<std::vector<double>>>)

namespace {

using namespace troupe;
using namespace troupe::actors;
using clock_type = std::chrono::steady_clock;

struct options {
  int iterations = 10000;
  std::string tls = "tcp,sm,self";
  bool json = false;
  std::uint16_t port = 0;
};

// Echoes every heartbeat back to its sender.
caf::behavior echo(caf::event_based_actor*, caf::actor gateway) {
  return {[=](const envelope_ptr& env) { send_wire(gateway, env->target, env->source, env->message); }};
}

struct pinger_state {
  caf::actor gateway;
  int remaining = 0;
  clock_type::time_point sent;
  std::vector<double> rtt_us;
  std::promise<std::vector<double>> done;
};

caf::behavior pinger(caf::stateful_actor<pinger_state>* self) {
  return {
      [=](caf::actor gateway, int iterations, std::shared_ptr<std::promise<std::vector<double>>> done) {
        auto& st = self->state;
        st.gateway = gateway;
        st.remaining = iterations;
        st.rtt_us.reserve(static_cast<std::size_t>(iterations));
        self->state.done = std::move(*done);
        st.sent = clock_type::now();
        send_wire(gateway, "a/pinger", "b/echo", wire::heartbeat{.node_name = "a", .sequence = 0});
      },
      [=](const envelope_ptr&) {
        auto& st = self->state;
        st.rtt_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - st.sent).count());
        if (--st.remaining == 0) {
          st.done.set_value(std::move(st.rtt_us));
          return;
        }
        st.sent = clock_type::now();
        send_wire(st.gateway, "a/pinger", "b/echo",
                  wire::heartbeat{.node_name = "a", .sequence = static_cast<std::uint64_t>(st.remaining)});
      },
  };
}

struct process {
  gateway_link link;
  std::unique_ptr<transport> net;
  std::unique_ptr<caf::actor_system_config> caf_config = std::make_unique<caf::actor_system_config>();
  std::unique_ptr<caf::actor_system> system;
  caf::actor gateway;

  bool start(const std::string& name, std::uint16_t port, const std::string& tls) {
    auto t = transport::create(transport_options{.process_name = name, .listen_host = "127.0.0.1", .listen_port = port,
                                                 .ucx_tls = tls},
                               link.callbacks());
    if (!t) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), t.error().message.c_str());
      return false;
    }
    net = std::move(t).value();
    configure_caf(*caf_config);
    system = std::make_unique<caf::actor_system>(*caf_config);
    gateway = spawn_gateway(*system, gateway_options{.process_name = name, .net = net.get()});
    link.set(gateway);
    return true;
  }
  ~process() {
    link.set({});
    if (gateway) caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
    system.reset();
    net.reset();
  }
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  CLI::App app{"control-message round trip through gateway + Cap'n Proto + UCX"};
  app.add_option("--iterations", o.iterations)->capture_default_str();
  app.add_option("--tls", o.tls, "UCX_TLS")->capture_default_str();
  app.add_option("--port", o.port, "listener port of the echo process (0: pick one)");
  app.add_flag("--json", o.json);
  CLI11_PARSE(app, argc, argv);
  if (o.port == 0) o.port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);

  int ready_pipe[2];
  if (::pipe(ready_pipe) != 0) return 1;
  const pid_t child = ::fork();
  if (child == 0) {
    // "b": echo until killed.
    ::close(ready_pipe[0]);
    process b;
    if (!b.start("b", o.port, o.tls)) ::_exit(1);
    caf::actor e = b.system->spawn(echo, b.gateway);
    caf::anon_send(b.gateway, register_atom::value, std::string("echo"), e);
    const char ok = 1;
    if (::write(ready_pipe[1], &ok, 1) != 1) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready_pipe[1]);
  char ok = 0;
  if (::read(ready_pipe[0], &ok, 1) != 1) {
    std::fprintf(stderr, "the echo process did not start\n");
    return 1;
  }
  std::vector<double> rtt;
  {
    process a;
    if (!a.start("a", 0, o.tls)) return 1;
    if (auto peer = a.net->connect(fmt::format("127.0.0.1:{}", o.port)); !peer) {
      std::fprintf(stderr, "connect: %s\n", peer.error().message.c_str());
      return 1;
    }
    caf::actor p = a.system->spawn(pinger);
    caf::anon_send(a.gateway, register_atom::value, std::string("pinger"), p);
    auto done = std::make_shared<std::promise<std::vector<double>>>();
    std::future<std::vector<double>> result = done->get_future();
    caf::anon_send(p, a.gateway, o.iterations + 1000, done);  // the first 1000 warm up
    if (result.wait_for(std::chrono::seconds(120)) != std::future_status::ready) {
      std::fprintf(stderr, "timed out\n");
      ::kill(child, SIGKILL);
      return 1;
    }
    rtt = result.get();
    rtt.erase(rtt.begin(), rtt.begin() + 1000);
    caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  double mean = 0;
  for (double v : rtt) mean += v;
  mean /= static_cast<double>(rtt.size());
  if (o.json) {
    std::printf("{\"bench\": \"gateway_rtt\", \"tls\": \"%s\", \"iterations\": %d, \"p50_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f}\n",
                o.tls.c_str(), o.iterations, percentile(rtt, 0.5), percentile(rtt, 0.99), mean);
  } else {
    std::printf("gateway round trip (%s, %d messages): p50 %.1f us, p99 %.1f us, mean %.1f us\n", o.tls.c_str(),
                o.iterations, percentile(rtt, 0.5), percentile(rtt, 0.99), mean);
  }
  return 0;
}
