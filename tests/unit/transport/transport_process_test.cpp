// Two processes: RMA between address spaces (64 MiB, byte-exact) and a peer killed with SIGKILL.
// The second process is transport_test_peer (see its header comment for its text protocol).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sstream>

#include "test_support.hpp"

extern char** environ;

namespace troupe::transport_test {
namespace {

constexpr std::size_t region_bytes = 64 << 20;

// transport_test_peer as a child process; killed and reaped on destruction.
class peer_process {
 public:
  explicit peer_process(std::size_t bytes) {
    int to_child[2];
    int from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    const std::string size_text = std::to_string(bytes);
    char* argv[] = {const_cast<char*>(TROUPE_TRANSPORT_TEST_PEER), const_cast<char*>(size_text.c_str()), nullptr};
    if (posix_spawn(&pid_, TROUPE_TRANSPORT_TEST_PEER, &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_fd_ = to_child[1];
    stdout_fd_ = from_child[0];
  }
  ~peer_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdin_fd_ >= 0) ::close(stdin_fd_);
    if (stdout_fd_ >= 0) ::close(stdout_fd_);
  }

  // The "ADDR host:port" line, or "" when the child says nothing within 10 s.
  std::string read_address() {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fd{.fd = stdout_fd_, .events = POLLIN, .revents = 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char c;
      if (::read(stdout_fd_, &c, 1) != 1) return "";
      if (c == '\n') return line.rfind("ADDR ", 0) == 0 ? line.substr(5) : "";
      line += c;
    }
    return "";
  }

  void kill_now() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
};

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(std::byte(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

remote_region parse_region(const std::string& text) {
  std::istringstream in(text);
  std::string word, rkey_hex;
  remote_region region;
  in >> word >> region.address >> region.size_bytes >> rkey_hex;
  region.packed_rkey = from_hex(rkey_hex);
  return region;
}

struct connected_head {
  recorder events;
  std::unique_ptr<transport> head;
};

// Starts "head", connects it to `child` and returns it; fails the test on error.
void connect_head(peer_process& child, connected_head& out) {
  ASSERT_GT(child.pid(), 0) << "cannot spawn " << TROUPE_TRANSPORT_TEST_PEER;
  const std::string address = child.read_address();
  ASSERT_FALSE(address.empty()) << "transport_test_peer printed no address";
  auto created = transport::create(transport_options{.process_name = "head"}, out.events.callbacks());
  ASSERT_TRUE(created) << created.error().message;
  out.head = std::move(created).value();
  auto peer = out.head->connect(address);
  ASSERT_TRUE(peer) << peer.error().message;
  ASSERT_EQ(*peer, "node0");
}

TEST(transport_process, puts_and_gets_64_mib_byte_exact_between_processes) {
  peer_process child(region_bytes);
  connected_head side;
  ASSERT_NO_FATAL_FAILURE(connect_head(child, side));
  ASSERT_TRUE(side.events.wait_for_messages(1)) << "no region descriptor from node0";
  const remote_region remote = parse_region(side.events.messages()[0].text());
  ASSERT_EQ(remote.size_bytes, region_bytes);

  auto local = side.head->allocate_region(region_bytes);
  ASSERT_TRUE(local) << local.error().message;
  std::span<std::byte> bytes((*local)->data(), region_bytes);
  std::memset(bytes.data(), 0, bytes.size());
  status got = side.head->get("node0", remote, 0, bytes).get();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(first_pattern_mismatch(bytes, 1), -1);

  fill_pattern(bytes, 2);
  status put = side.head->put("node0", remote, 0, bytes).get();
  ASSERT_TRUE(put) << put.error().message;
  ASSERT_TRUE(side.head->send("node0", as_bytes("check 2")));
  ASSERT_TRUE(side.events.wait_for_messages(2));
  EXPECT_EQ(side.events.messages()[1].text(), "check ok");

  // A partial get at an offset lands where asked.
  std::vector<std::byte> tail(4096);
  ASSERT_TRUE(side.head->get("node0", remote, region_bytes - 4096, tail).get());
  EXPECT_EQ(std::memcmp(tail.data(), bytes.data() + region_bytes - 4096, 4096), 0);
  std::fprintf(stderr, "%s", side.head->describe_peer("node0").c_str());
}

TEST(transport_process, refuses_get_and_put_outside_the_remote_region) {
  peer_process child(1 << 20);
  connected_head side;
  ASSERT_NO_FATAL_FAILURE(connect_head(child, side));
  ASSERT_TRUE(side.events.wait_for_messages(1));
  const remote_region remote = parse_region(side.events.messages()[0].text());
  std::vector<std::byte> buffer(100);

  status past_end = side.head->get("node0", remote, remote.size_bytes - 10, buffer).get();
  ASSERT_FALSE(past_end);
  EXPECT_EQ(past_end.error().code, errc::invalid_argument);
  EXPECT_NE(past_end.error().message.find("outside the remote region"), std::string::npos) << past_end.error().message;
  status huge_offset = side.head->put("node0", remote, ~std::uint64_t{0} - 5, buffer).get();
  ASSERT_FALSE(huge_offset);
  EXPECT_EQ(huge_offset.error().code, errc::invalid_argument);
  remote_region no_key = remote;
  no_key.packed_rkey.clear();
  EXPECT_FALSE(side.head->get("node0", no_key, 0, buffer).get());
  status unknown = side.head->get("node7", remote, 0, buffer).get();
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, errc::unavailable);

  // The region is untouched: a put in range still works afterwards and the check sees seed 1.
  ASSERT_TRUE(side.head->send("node0", as_bytes("check 1")));
  ASSERT_TRUE(side.events.wait_for_messages(2));
  EXPECT_EQ(side.events.messages()[1].text(), "check ok");
}

TEST(transport_process, reports_a_killed_peer_within_two_seconds_and_then_refuses_sends) {
  peer_process child(4096);
  connected_head side;
  ASSERT_NO_FATAL_FAILURE(connect_head(child, side));
  ASSERT_TRUE(side.events.wait_for_messages(1));
  const remote_region remote = parse_region(side.events.messages()[0].text());
  std::vector<std::byte> buffer(64);
  ASSERT_TRUE(side.head->get("node0", remote, 0, buffer).get());  // the bulk endpoint is in use

  const auto killed_at = std::chrono::steady_clock::now();
  child.kill_now();
  ASSERT_TRUE(side.events.wait_for_failed(1, std::chrono::seconds(2)))
      << "no on_peer_failed within 2 s";
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(2));
  const auto failed = side.events.failed();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].rfind("node0: ", 0), 0u) << failed[0];
  EXPECT_FALSE(side.head->is_connected("node0"));
  status sent = side.head->send("node0", as_bytes("hello?"));
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, errc::unavailable);
  EXPECT_FALSE(side.head->get("node0", remote, 0, buffer).get());
}

}  // namespace
}  // namespace troupe::transport_test
