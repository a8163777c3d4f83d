// The OpenAI-compatible HTTP API over a completion_service (cpp-httplib 0.11.4):
//   GET  /health               200 {"status": "ok"} when at least one model is served, else 503
//   GET  /v1/models            the served models;  GET /v1/models/{name}: one of them
//   POST /v1/chat/completions  chat.completion or SSE chat.completion.chunk events
//   POST /v1/completions       text_completion, or SSE events
// Errors are OpenAI error objects (api_error.hpp); docs/API.md describes everything.
//
//   auto http = http_server::start({.host = "127.0.0.1", .port = 8000}, service);
//   ... (*http)->stop();
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/completion_service.hpp"
#include "engine/common/result.hpp"

namespace troupe::api {

struct http_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;   // 0: any free port (see http_server::port())
  std::int32_t num_threads = 64;  // connection threads: one per open connection (SSE streams included)
  std::optional<std::filesystem::path> api_keys_file;  // one key per line ('#' comments); absent = no auth
  std::vector<std::string> api_keys;  // accepted too; with the file's, empty = no auth
  std::int32_t keep_alive_timeout_s = 2;  // idle keep-alive connections hold a thread: keep it low
  std::int64_t max_body_bytes = 16LL << 20;  // larger bodies get 413
  std::chrono::milliseconds ping_interval{1000};  // SSE ": ping" after this much silence
};

class http_server {
 public:
  // Binds host:port and serves `service` (which must outlive the server) on its own threads.
  // Errors: an unreadable or empty api_keys_file, num_threads < 1, a port that cannot be bound.
  static result<std::unique_ptr<http_server>> start(const http_server_options& options, completion_service& service);
  ~http_server();  // stop()
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Stops accepting and waits for the server's threads (streams in flight are cut). Idempotent.
  void stop();
  std::uint16_t port() const;

  struct impl;

 private:
  explicit http_server(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

// The keys of an API keys file: one per line, blank lines and lines starting with '#' skipped.
result<std::vector<std::string>> read_api_keys_file(const std::filesystem::path& path);

}  // namespace troupe::api
