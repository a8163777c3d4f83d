// Multi-process cluster tests on loopback: writes a cluster.yaml with free ports, starts it with
// `troupe up --detach` (the real launcher and processes), talks HTTP to the head, and always
// stops it (`troupe down`, then SIGKILL for anything left). Every wait is bounded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::testing {

struct command_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a command (argv) with a deadline; kills it when the deadline passes (exit_code -1).
command_result run_command(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                           const std::vector<std::string>& extra_env = {});

std::uint16_t free_port();
std::filesystem::path troupe_binary();
std::filesystem::path scratch_directory(const std::string& name);  // fresh, under the build tree

struct cluster_spec {
  std::string name = "test";
  std::filesystem::path model;
  int num_nodes = 3;
  int replicas = 3;
  int max_model_len = 4096;
  int max_queued_requests = 1024;
  int cpu_threads_per_device = 1;
};

class local_cluster {
 public:
  // Writes the yaml and runs `troupe up --detach`; check started() / output().
  explicit local_cluster(const cluster_spec& spec);
  ~local_cluster();  // troupe down, then SIGKILL leftovers
  local_cluster(const local_cluster&) = delete;
  local_cluster& operator=(const local_cluster&) = delete;

  bool started() const { return up_.exit_code == 0; }
  const std::string& up_output() const { return up_.output; }
  std::uint16_t http_port() const { return http_port_; }
  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  std::map<std::string, pid_t> pids() const;  // from the run directory
  std::filesystem::path log_of(const std::string& process) const;
  std::string read_log(const std::string& process) const;
  const std::filesystem::path& config_file() const { return config_file_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path run_dir_;
  std::filesystem::path config_file_;
  std::uint16_t http_port_ = 0;
  command_result up_;
};

// One completion from the head. Non-streaming: the response JSON. Streaming: the SSE events' JSON
// objects in order (without [DONE]), and whether [DONE] came.
struct http_reply {
  int status = 0;
  nlohmann::json body;                  // non-streaming
  std::vector<nlohmann::json> events;   // streaming
  bool done = false;
  std::string error;                    // transport-level failure
};
http_reply post_json(std::uint16_t port, const std::string& path, const nlohmann::json& body,
                     std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace troupe::testing
