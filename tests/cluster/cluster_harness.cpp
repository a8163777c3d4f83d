#include "tests/cluster/cluster_harness.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

namespace troupe::testing {

namespace fs = std::filesystem;

command_result run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                           const std::vector<std::string>& extra_env) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    for (const std::string& e : extra_env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  command_result r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd p{.fd = pipe_fds[0], .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 200))) > 0) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n <= 0) break;
      r.output.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) && std::chrono::steady_clock::now() < deadline ? WEXITSTATUS(status) : -1;
  return r;
}

std::uint16_t free_port() {
  // Ports handed out in one test process never repeat, and each is free when handed out.
  static std::atomic<int> offset{0};
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    ::close(fd);
    if (ok) {
      ++offset;
      return ntohs(addr.sin_port);
    }
  }
  return 0;
}

fs::path troupe_binary() { return fs::path(TROUPE_BINARY_DIR) / "bin" / "troupe"; }

fs::path scratch_directory(const std::string& name) {
  const fs::path dir = fs::path(TROUPE_BINARY_DIR) / "tests" / "cluster-scratch" / fmt::format("{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

local_cluster::local_cluster(const cluster_spec& spec)
    : dir_(scratch_directory(spec.name)), run_dir_(dir_ / ".troupe" / spec.name) {
  http_port_ = free_port();
  std::string yaml = fmt::format(
      "cluster: {{name: {}}}\n"
      "head: {{host: 127.0.0.1, http_port: {}, admin_port: {}, transport_port: {}}}\n"
      "transport: {{ucx_tls: \"tcp,sm,self\"}}\n"
      "nodes:\n",
      spec.name, http_port_, free_port(), free_port());
  for (int i = 0; i < spec.num_nodes; ++i) {
    yaml += fmt::format("  - {{name: node{}, host: 127.0.0.1, devices: \"cpu:1\", cpu_threads_per_device: {}}}\n", i,
                        spec.cpu_threads_per_device);
  }
  yaml += fmt::format(
      "models:\n"
      "  - name: demo\n"
      "    path: {}\n"
      "    dtype: float32\n"
      "    parallel: {{tp: 1, pp: 1, replicas: {}}}\n"
      "    max_model_len: {}\n"
      "    kv_cache: {{block_size: 16, memory: 64MiB}}\n"
      "api: {{max_queued_requests: {}}}\n",
      spec.model.string(), spec.replicas, spec.max_model_len, spec.max_queued_requests);
  config_file_ = dir_ / "cluster.yaml";
  std::ofstream(config_file_) << yaml;
  up_ = run_command({troupe_binary().string(), "up", "-f", config_file_.string(), "--detach", "--timeout", "120"},
                    std::chrono::seconds(150), {"SPDLOG_LEVEL=debug"});
}

local_cluster::~local_cluster() {
  const std::map<std::string, pid_t> left = pids();
  run_command({troupe_binary().string(), "down", "-f", config_file_.string()}, std::chrono::seconds(30));
  for (const auto& [name, pid] : left) ::kill(pid, SIGKILL);
}

std::string local_cluster::base_url() const { return fmt::format("http://127.0.0.1:{}/v1", http_port_); }

std::map<std::string, pid_t> local_cluster::pids() const {
  std::map<std::string, pid_t> out;
  std::ifstream in(run_dir_ / "pids");
  std::string name, host;
  pid_t pid = 0;
  while (in >> name >> host >> pid) out[name] = pid;
  return out;
}

fs::path local_cluster::log_of(const std::string& process) const { return run_dir_ / (process + ".log"); }

std::string local_cluster::read_log(const std::string& process) const {
  std::ifstream in(log_of(process));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

http_reply post_json(std::uint16_t port, const std::string& path, const nlohmann::json& body, std::chrono::seconds timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(timeout);
  client.set_write_timeout(std::chrono::seconds(10));
  client.set_connection_timeout(std::chrono::seconds(10));
  http_reply reply;
  const bool stream = body.value("stream", false);
  if (!stream) {
    httplib::Result res = client.Post(path, body.dump(), "application/json");
    if (!res) {
      reply.error = httplib::to_string(res.error());
      return reply;
    }
    reply.status = res->status;
    reply.body = nlohmann::json::parse(res->body, nullptr, false);
    return reply;
  }
  std::string buffer;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    buffer.append(data, n);
    for (std::size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;  // ": ping" comments
      const std::string payload = event.substr(6);
      if (payload == "[DONE]") {
        reply.done = true;
      } else {
        reply.events.push_back(nlohmann::json::parse(payload, nullptr, false));
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (!client.send(req, res, err)) {
    reply.error = httplib::to_string(err);
    return reply;
  }
  reply.status = res.status;
  if (res.status != 200) reply.body = nlohmann::json::parse(res.body.empty() ? buffer : res.body, nullptr, false);
  return reply;
}

}  // namespace troupe::testing
