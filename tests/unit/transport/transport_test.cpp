// Two transports in one process over the loopback listener.
#include "transport/transport.hpp"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "test_support.hpp"

namespace troupe::transport_test {
namespace {

struct endpoint {
  recorder events;
  std::unique_ptr<transport> self;
};

void start(endpoint& out, transport_options options) {
  auto created = transport::create(options, out.events.callbacks());
  ASSERT_TRUE(created) << created.error().message;
  out.self = std::move(created).value();
}

// head connects to node0; both see the other connected.
void start_pair(endpoint& head, endpoint& node, transport_options node_options = {.process_name = "node0"}) {
  ASSERT_NO_FATAL_FAILURE(start(head, {.process_name = "head"}));
  ASSERT_NO_FATAL_FAILURE(start(node, node_options));
  auto peer = head.self->connect(node.self->listen_address());
  ASSERT_TRUE(peer) << peer.error().message;
  EXPECT_EQ(*peer, "node0");
  ASSERT_TRUE(node.events.wait_for_connected(1));
  EXPECT_EQ(node.events.connected()[0], "head");
  EXPECT_TRUE(head.self->is_connected("node0"));
  EXPECT_TRUE(node.self->is_connected("head"));
}

std::uint16_t closed_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

double process_cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

TEST(transport, listens_on_an_ephemeral_port_and_reports_it) {
  endpoint node;
  ASSERT_NO_FATAL_FAILURE(start(node, {.process_name = "node0"}));
  const std::string address = node.self->listen_address();
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  EXPECT_NE(address, "127.0.0.1:0");
}

TEST(transport, exchanges_messages_both_ways_in_send_order) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  constexpr int count = 200;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(head.self->send("node0", as_bytes("to-node " + std::to_string(i))));
    ASSERT_TRUE(node.self->send("head", as_bytes("to-head " + std::to_string(i))));
  }
  ASSERT_TRUE(node.events.wait_for_messages(count));
  ASSERT_TRUE(head.events.wait_for_messages(count));
  const auto at_node = node.events.messages();
  const auto at_head = head.events.messages();
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(at_node[i].peer, "head");
    EXPECT_EQ(at_node[i].text(), "to-node " + std::to_string(i));
    EXPECT_EQ(at_head[i].peer, "node0");
    EXPECT_EQ(at_head[i].text(), "to-head " + std::to_string(i));
  }
  EXPECT_EQ(node.events.num_misaligned(), 0);
  EXPECT_EQ(head.events.num_misaligned(), 0);
}

TEST(transport, delivers_a_one_mebibyte_message_between_small_ones_in_order) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  std::vector<std::byte> big(1 << 20);
  fill_pattern(big, 7);
  ASSERT_TRUE(head.self->send("node0", as_bytes("before")));
  ASSERT_TRUE(head.self->send("node0", big));
  ASSERT_TRUE(head.self->send("node0", as_bytes("after")));
  ASSERT_TRUE(node.events.wait_for_messages(3));
  const auto messages = node.events.messages();
  EXPECT_EQ(messages[0].text(), "before");
  ASSERT_EQ(messages[1].bytes.size(), big.size());
  EXPECT_EQ(first_pattern_mismatch(messages[1].bytes, 7), -1);
  EXPECT_EQ(messages[2].text(), "after");
  EXPECT_EQ(node.events.num_misaligned(), 0);
}

TEST(transport, drops_inbound_messages_over_max_message_bytes) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node, {.process_name = "node0", .max_message_bytes = 1024}));
  ASSERT_TRUE(head.self->send("node0", std::vector<std::byte>(4096)));
  ASSERT_TRUE(head.self->send("node0", std::vector<std::byte>(1 << 20)));
  ASSERT_TRUE(head.self->send("node0", as_bytes("small")));
  ASSERT_TRUE(node.events.wait_for_messages(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto messages = node.events.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].text(), "small");
  EXPECT_EQ(node.self->num_dropped_messages(), 2u);
  EXPECT_TRUE(node.self->is_connected("head"));
}

TEST(transport, refuses_a_peer_that_speaks_another_protocol_version) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start(head, {.process_name = "head"}));
  ASSERT_NO_FATAL_FAILURE(start(node, {.process_name = "node0", .protocol_version = 2}));
  auto peer = head.self->connect(node.self->listen_address());
  ASSERT_FALSE(peer);
  EXPECT_EQ(peer.error().code, errc::unsupported);
  EXPECT_NE(peer.error().message.find("peer node0"), std::string::npos) << peer.error().message;
  EXPECT_NE(peer.error().message.find("speaks protocol 2, this process speaks 1"), std::string::npos)
      << peer.error().message;
  EXPECT_FALSE(head.self->is_connected("node0"));
  EXPECT_FALSE(node.self->is_connected("head"));
  EXPECT_TRUE(node.events.connected().empty());
}

TEST(transport, refuses_a_second_peer_with_a_name_already_connected) {
  endpoint head, node, impostor;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  ASSERT_NO_FATAL_FAILURE(start(impostor, {.process_name = "head"}));
  auto peer = impostor.self->connect(node.self->listen_address());
  ASSERT_FALSE(peer);
  EXPECT_NE(peer.error().message.find("already connected"), std::string::npos) << peer.error().message;
  EXPECT_TRUE(node.self->is_connected("head"));
}

TEST(transport, connect_to_a_closed_port_fails_within_the_timeout_naming_the_address) {
  endpoint head;
  ASSERT_NO_FATAL_FAILURE(start(head, {.process_name = "head", .connect_timeout_ms = 2000}));
  const std::string address = "127.0.0.1:" + std::to_string(closed_port());
  const auto started = std::chrono::steady_clock::now();
  auto peer = head.self->connect(address);
  ASSERT_FALSE(peer);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(2500));
  EXPECT_NE(peer.error().message.find(address), std::string::npos) << peer.error().message;
}

TEST(transport, connect_rejects_a_malformed_address) {
  endpoint head;
  ASSERT_NO_FATAL_FAILURE(start(head, {.process_name = "head"}));
  for (const std::string bad : {"no-port", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:x1"}) {
    auto peer = head.self->connect(bad);
    ASSERT_FALSE(peer) << bad;
    EXPECT_EQ(peer.error().code, errc::invalid_argument) << bad;
    EXPECT_NE(peer.error().message.find(bad), std::string::npos) << peer.error().message;
  }
}

TEST(transport, create_rejects_bad_options) {
  recorder events;
  auto no_name = transport::create({.process_name = ""}, events.callbacks());
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code, errc::invalid_argument);
  auto no_tcp = transport::create({.process_name = "head", .ucx_tls = "sm,self"}, events.callbacks());
  ASSERT_FALSE(no_tcp);
  EXPECT_NE(no_tcp.error().message.find("tcp"), std::string::npos) << no_tcp.error().message;
}

TEST(transport, send_to_an_unknown_peer_fails_at_once) {
  endpoint head;
  ASSERT_NO_FATAL_FAILURE(start(head, {.process_name = "head"}));
  status sent = head.self->send("nobody", as_bytes("x"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, errc::unavailable);
  EXPECT_NE(sent.error().message.find("nobody"), std::string::npos);
}

TEST(transport, disconnect_closes_both_sides_and_only_the_other_side_is_told) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  head.self->disconnect("node0");
  EXPECT_FALSE(head.self->is_connected("node0"));
  EXPECT_FALSE(head.self->send("node0", as_bytes("x")));
  ASSERT_TRUE(node.events.wait_for_failed(1));
  EXPECT_FALSE(node.self->is_connected("head"));
  EXPECT_TRUE(head.events.failed().empty());
}

TEST(transport, puts_and_gets_within_one_process) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  constexpr std::size_t size = 1 << 20;
  auto remote_region_owner = node.self->allocate_region(size);
  auto local_region = head.self->allocate_region(size);
  ASSERT_TRUE(remote_region_owner && local_region);
  fill_pattern({(*remote_region_owner)->data(), size}, 3);
  const remote_region remote = node.self->describe(**remote_region_owner);
  std::span<std::byte> local((*local_region)->data(), size);
  ASSERT_TRUE(head.self->get("node0", remote, 0, local).get());
  EXPECT_EQ(first_pattern_mismatch(local, 3), -1);
  fill_pattern(local, 4);
  ASSERT_TRUE(head.self->put("node0", remote, 0, local).get());
  EXPECT_EQ(first_pattern_mismatch({(*remote_region_owner)->data(), size}, 4), -1);
  EXPECT_NE(head.self->describe_peer("node0").find("bulk endpoint"), std::string::npos);
}

TEST(transport, idle_progress_threads_burn_almost_no_cpu) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let connection set-up settle
  const double before_ms = process_cpu_ms();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used_ms = process_cpu_ms() - before_ms;
  EXPECT_LT(used_ms, 30.0) << "two idle transports used " << used_ms << " ms of CPU in 300 ms";
}

TEST(transport, round_trip_of_a_small_message_takes_well_under_a_millisecond) {
  endpoint head, node;
  ASSERT_NO_FATAL_FAILURE(start_pair(head, node));
  transport* node_self = node.self.get();
  // node0 echoes; rebuild it with an echoing callback is not possible, so echo from a thread.
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    std::size_t seen = 0;
    while (!stop) {
      if (!node.events.wait_for_messages(seen + 1, std::chrono::milliseconds(20))) continue;
      const auto messages = node.events.messages();
      for (; seen < messages.size(); ++seen) (void)node_self->send("head", messages[seen].bytes);
    }
  });
  constexpr int rounds = 200;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) {
    ASSERT_TRUE(head.self->send("node0", as_bytes(std::string(100, 'x'))));
    ASSERT_TRUE(head.events.wait_for_messages(i + 1));
  }
  const auto per_round = (std::chrono::steady_clock::now() - started) / rounds;
  stop = true;
  echo.join();
  // Generous: a wake-up bug shows as ~100 ms (the epoll timeout) per round.
  EXPECT_LT(per_round, std::chrono::milliseconds(5));
}

}  // namespace
}  // namespace troupe::transport_test
