#include "apps/troupe/launcher.hpp"

#include "actors/process_signals.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace troupe::cli {

namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;

struct child {
  std::string name;  // "head", "node0"
  std::string host;
  fs::path log;
  pid_t pid = -1;
  bool running = false;
  int status = 0;
};

fs::path run_directory(const cluster_config& config, const launch_options& options) {
  if (!options.run_dir.empty()) return fs::absolute(options.run_dir);
  return fs::absolute(config.file).parent_path() / ".troupe" / config.name;
}

fs::path self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("troupe") : p;
}

// The last `n` lines of a log, for error messages.
std::string tail(const fs::path& file, std::size_t n = 15) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const std::string& l : lines) out += "    " + l + "\n";
  return out;
}

// Starts `argv` with stdout and stderr going to `log`, in its own session (a terminal's Ctrl-C
// reaches troupe up, which stops the children in order).
result<pid_t> spawn(const std::vector<std::string>& argv, const fs::path& log) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(errc::io_error, "cannot write {}: {}", log.string(), std::strerror(errno));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return make_error(errc::io_error, "fork failed: {}", std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "troupe up: cannot execute %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

std::vector<std::string> command_for(const std::string& name, const std::string& host, const fs::path& config_file,
                                     const launch_options& options) {
  std::vector<std::string> args;
  const bool local = is_local_host(host);
  if (!local) args = {"ssh", "-o", "BatchMode=yes", host, options.remote_binary};
  else args = {self_executable().string()};
  if (name == "head") {
    args.insert(args.end(), {"head", "-f", config_file.string()});
  } else {
    args.insert(args.end(), {"node", "-f", config_file.string(), "--name", name});
  }
  return args;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "stopped";
}

void reap(std::vector<child>& children) {
  for (child& c : children) {
    if (!c.running) continue;
    int status = 0;
    if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
      c.running = false;
      c.status = status;
    }
  }
}

// SIGTERM to every running child (nodes first, the head last), SIGKILL after `grace`.
void stop_all(std::vector<child>& children, std::chrono::seconds grace = std::chrono::seconds(10)) {
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    if (it->running) ::kill(it->pid, SIGTERM);
  }
  const auto deadline = clock::now() + grace;
  while (clock::now() < deadline) {
    reap(children);
    if (std::none_of(children.begin(), children.end(), [](const child& c) { return c.running; })) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (child& c : children) {
    if (c.running) ::kill(c.pid, SIGKILL);
  }
  for (child& c : children) {
    if (c.running) ::waitpid(c.pid, &c.status, 0);
    c.running = false;
  }
}

// What the head's log says so far: the line it writes once every replica is ready, or the first
// replica failure.
struct head_progress {
  bool ready = false;
  std::string failure;
};
head_progress read_head_progress(const fs::path& head_log) {
  std::ifstream in(head_log);
  head_progress p;
  for (std::string line; std::getline(in, line);) {
    if (line.find("troupe: ready") != std::string::npos) p.ready = true;
    if (const auto at = line.find("troupe: failed: "); at != std::string::npos && p.failure.empty()) {
      p.failure = line.substr(at + 16);
    }
  }
  return p;
}

void write_pids(const fs::path& file, const std::vector<child>& children) {
  std::ofstream out(file, std::ios::trunc);
  for (const child& c : children) out << c.name << ' ' << c.host << ' ' << c.pid << '\n';
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace

bool is_local_host(const std::string& host) {
  if (host == "localhost" || host == "127.0.0.1" || host == "::1" || host.rfind("127.", 0) == 0) return true;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && host == name) return true;
  ifaddrs* addrs = nullptr;
  if (::getifaddrs(&addrs) != 0) return false;
  bool local = false;
  for (ifaddrs* a = addrs; a != nullptr && !local; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof text);
    }
    local = host == text;
  }
  ::freeifaddrs(addrs);
  return local;
}

int cluster_up(const cluster_config& config, const launch_options& options) {
  const fs::path dir = run_directory(config, options);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "troupe up: cannot create the run directory %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  const fs::path pids = dir / "pids";
  if (std::ifstream in(pids); in) {
    std::string name, host;
    pid_t pid = 0;
    while (in >> name >> host >> pid) {
      if (is_local_host(host) && alive(pid)) {
        std::fprintf(stderr, "troupe up: cluster '%s' is already running (%s, pid %d); run `troupe down -f %s` first\n",
                     config.name.c_str(), name.c_str(), pid, options.config_file.c_str());
        return 1;
      }
    }
  }

  // Block the signals before starting anything: the foreground wait below takes them with sigtimedwait.
  const sigset_t signals = actors::termination_signal_set();
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);

  const fs::path config_file = fs::absolute(config.file);
  std::vector<child> children;
  std::vector<std::pair<std::string, std::string>> processes = {{"head", config.head.host}};
  for (const node_config& n : config.nodes) processes.emplace_back(n.name, n.host);
  for (const auto& [name, host] : processes) {
    child c{.name = name, .host = host, .log = dir / (name + ".log")};
    result<pid_t> pid = spawn(command_for(name, host, config_file, options), c.log);
    if (!pid) {
      std::fprintf(stderr, "troupe up: cannot start %s: %s\n", name.c_str(), pid.error().message.c_str());
      stop_all(children);
      return 1;
    }
    c.pid = *pid;
    c.running = true;
    children.push_back(std::move(c));
  }
  write_pids(pids, children);
  std::printf("troupe: starting cluster '%s' (%zu processes; logs in %s)\n", config.name.c_str(), children.size(), dir.c_str());
  std::fflush(stdout);

  const auto deadline = clock::now() + std::chrono::seconds(options.ready_timeout_s);
  const timespec tick{.tv_sec = 0, .tv_nsec = 100'000'000};
  while (true) {
    const head_progress progress = read_head_progress(children[0].log);
    if (progress.ready) break;
    if (!progress.failure.empty()) {
      std::fprintf(stderr, "troupe up: %s\n", progress.failure.c_str());
      stop_all(children);
      fs::remove(pids, ec);
      return 1;
    }
    reap(children);
    for (const child& c : children) {
      if (c.running) continue;
      std::fprintf(stderr, "troupe up: %s %s before the cluster was ready. Last lines of %s:\n%s", c.name.c_str(),
                   describe_exit(c.status).c_str(), c.log.c_str(), tail(c.log).c_str());
      stop_all(children);
      fs::remove(pids, ec);
      return 1;
    }
    if (clock::now() > deadline) {
      std::fprintf(stderr, "troupe up: the cluster was not ready within %d s. Last lines of %s:\n%s", options.ready_timeout_s,
                   children[0].log.c_str(), tail(children[0].log).c_str());
      stop_all(children);
      fs::remove(pids, ec);
      return 1;
    }
    if (const int sig = ::sigtimedwait(&signals, nullptr, &tick); sig > 0) {
      std::fprintf(stderr, "troupe up: interrupted; stopping the cluster\n");
      stop_all(children);
      fs::remove(pids, ec);
      return 130;
    }
  }
  std::printf("troupe: cluster '%s' is ready: OpenAI API at http://%s:%u/v1\n", config.name.c_str(),
              config.head.host.c_str(), config.head.http_port);
  std::fflush(stdout);
  if (options.detach) return 0;

  // Foreground: run until a signal or until the head exits; a node that exits is reported (the
  // head takes its replicas out of the map) and the rest keeps serving.
  while (true) {
    if (const int sig = ::sigtimedwait(&signals, nullptr, &tick); sig > 0) break;
    std::vector<bool> was_running;
    for (const child& c : children) was_running.push_back(c.running);
    reap(children);
    for (std::size_t i = 0; i < children.size(); ++i) {
      if (was_running[i] && !children[i].running) {
        std::fprintf(stderr, "troupe: %s %s (log: %s)\n", children[i].name.c_str(), describe_exit(children[i].status).c_str(),
                     children[i].log.c_str());
      }
    }
    if (!children[0].running) break;
  }
  std::printf("troupe: stopping cluster '%s'\n", config.name.c_str());
  stop_all(children);
  fs::remove(pids, ec);
  return 0;
}

int cluster_down(const cluster_config& config, const launch_options& options) {
  const fs::path pids = run_directory(config, options) / "pids";
  std::ifstream in(pids);
  if (!in) {
    std::fprintf(stderr, "troupe down: no running cluster recorded in %s\n", pids.c_str());
    return 1;
  }
  std::vector<child> children;
  std::string name, host;
  pid_t pid = 0;
  while (in >> name >> host >> pid) {
    if (!alive(pid)) continue;
    children.push_back(child{.name = name, .host = host, .log = {}, .pid = pid, .running = true, .status = 0});
  }
  // Not our children: poll with kill(pid, 0) instead of waitpid.
  for (auto it = children.rbegin(); it != children.rend(); ++it) ::kill(it->pid, SIGTERM);
  const auto deadline = clock::now() + std::chrono::seconds(10);
  while (clock::now() < deadline && std::any_of(children.begin(), children.end(), [](const child& c) { return alive(c.pid); })) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (const child& c : children) {
    if (alive(c.pid)) {
      std::fprintf(stderr, "troupe down: %s (pid %d) did not stop within 10 s; killing it\n", c.name.c_str(), c.pid);
      ::kill(c.pid, SIGKILL);
    }
  }
  std::error_code ec;
  fs::remove(pids, ec);
  std::printf("troupe: cluster '%s' stopped (%zu processes)\n", config.name.c_str(), children.size());
  return 0;
}

}  // namespace troupe::cli
