// The gateway over a real UCX transport: two "processes" (two transports, two gateways) in one
// test process. Messages reach actors by name in both directions; a message whose source claims
// another process than the peer it came from is dropped; watchers hear when a peer goes.
#include "actors/gateway.hpp"

#include <future>

#include <gtest/gtest.h>

#include "protocol/codec.hpp"

namespace troupe::actors {
namespace {

using namespace std::chrono_literals;

struct side {
  gateway_link link;
  std::unique_ptr<transport> net;
  caf::actor gateway;

  side(caf::actor_system& system, const std::string& name) {
    auto t = transport::create(transport_options{.process_name = name, .listen_host = "127.0.0.1", .listen_port = 0,
                                                 .ucx_tls = "tcp,self"},
                               link.callbacks());
    EXPECT_TRUE(t) << t.error().message;
    net = std::move(t).value();
    gateway = spawn_gateway(system, gateway_options{.process_name = name, .net = net.get()});
    link.set(gateway);
  }
  void close() {
    link.set({});
    caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
  }
};

// Collects what an actor receives, for the test thread to wait on.
struct inbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> items;

  void add(std::string s) {
    std::lock_guard lock(mutex);
    items.push_back(std::move(s));
    changed.notify_all();
  }
  bool wait_for_size(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return items.size() >= n; });
  }
};

caf::behavior recorder(caf::event_based_actor*, inbox* box) {
  return {
      [box](const envelope_ptr& env) { box->add(env->source + " " + std::string(wire::body_name(env->message))); },
      [box](peer_up_atom, const std::string& peer) { box->add("up " + peer); },
      [box](peer_down_atom, const std::string& peer, const std::string&) { box->add("down " + peer); },
  };
}

TEST(gateway, delivers_by_name_between_processes_and_drops_spoofed_sources) {
  caf::actor_system_config config;
  caf::actor_system system{config};
  side a(system, "a");
  side b(system, "b");
  inbox at_a, at_b, watcher;
  caf::actor ra = system.spawn(recorder, &at_a);
  caf::actor rb = system.spawn(recorder, &at_b);
  caf::actor rw = system.spawn(recorder, &watcher);
  caf::anon_send(a.gateway, register_atom::value, std::string("x"), ra);
  caf::anon_send(b.gateway, register_atom::value, std::string("y"), rb);
  caf::anon_send(a.gateway, watch_atom::value, rw);
  ASSERT_TRUE(a.net->connect(b.net->listen_address()));

  send_wire(a.gateway, "a/x", "b/y", wire::heartbeat{.node_name = "a", .sequence = 1});
  ASSERT_TRUE(at_b.wait_for_size(1, 5s));
  EXPECT_EQ(at_b.items[0], "a/x heartbeat");
  send_wire(b.gateway, "b/y", "a/x", wire::abort_requests{.request_ids = {1, 2}});
  ASSERT_TRUE(at_a.wait_for_size(1, 5s));
  EXPECT_EQ(at_a.items[0], "b/y abort_requests");
  send_wire(a.gateway, "a/x", "a/x", wire::heartbeat{});  // local delivery, no transport
  ASSERT_TRUE(at_a.wait_for_size(2, 5s));

  // Bytes from peer "a" that claim to come from "c": dropped, as are unknown targets.
  const std::vector<std::byte> spoofed = wire::encode(wire::envelope{.source = "c/x", .target = "b/y", .message = wire::heartbeat{}});
  ASSERT_TRUE(a.net->send("b", spoofed));
  send_wire(a.gateway, "a/x", "b/nobody", wire::heartbeat{});
  send_wire(a.gateway, "a/x", "b/y", wire::heartbeat{.node_name = "a", .sequence = 2});  // in order after both
  ASSERT_TRUE(at_b.wait_for_size(2, 5s));
  EXPECT_EQ(at_b.items.size(), 2u);
  EXPECT_EQ(at_b.items[1], "a/x heartbeat");

  // b goes away: a's watchers hear it.
  b.close();
  b.net.reset();
  ASSERT_TRUE(watcher.wait_for_size(1, 5s));
  bool saw_down = false;
  for (std::size_t i = 0; i < 20 && !saw_down; ++i) {
    std::lock_guard lock(watcher.mutex);
    for (const std::string& s : watcher.items) saw_down |= s == "down b";
    if (!saw_down) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(saw_down);
  a.close();
  for (const caf::actor& r : {ra, rb, rw}) caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace troupe::actors
