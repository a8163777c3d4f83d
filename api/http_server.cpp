#include "api/http_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <httplib.h>

#include "api/completion_handler.hpp"
#include "api/response_json.hpp"

namespace troupe::api {

namespace {

api_error route_error(int status, const httplib::Request& req) {
  switch (status) {
    case 404:
      return api_error{.http_status = 404, .message = fmt::format("Unknown route {} {}", req.method, req.path),
                       .code = "not_found"};
    case 413:
      return api_error{.http_status = 413, .message = "the request body is too large", .code = "payload_too_large"};
    default:
      return api_error{.http_status = status, .message = fmt::format("HTTP error {}", status)};
  }
}

void method_not_allowed(const httplib::Request& req, httplib::Response& res, const char* allowed) {
  res.set_header("Allow", allowed);
  write_error(res, api_error{.http_status = 405,
                             .message = fmt::format("{} {} is not allowed; use {}", req.method, req.path, allowed),
                             .code = "method_not_allowed"});
}

bool authorized(const httplib::Request& req, const std::vector<std::string>& keys) {
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (header.size() <= bearer.size() || header.compare(0, bearer.size(), bearer) != 0) return false;
  const std::string key = header.substr(bearer.size());
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

struct http_server::impl {
  http_server_options options;
  completion_service& service;
  std::vector<std::string> keys;
  httplib::Server server;
  std::thread listener;
  std::uint16_t bound_port = 0;

  impl(http_server_options o, completion_service& s, std::vector<std::string> k)
      : options(std::move(o)), service(s), keys(std::move(k)) {}

  void add_routes() {
    const completion_handler_options handler_options{.ping_interval = options.ping_interval};
    server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      const bool serving = !service.models().empty();
      res.status = serving ? 200 : 503;
      res.set_content(serving ? R"({"status":"ok"})" : R"({"status":"no models"})", "application/json");
    });
    server.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(dump(models_json(service.models())), "application/json");
    });
    server.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      for (const ordered_json& m : models_json(service.models())["data"]) {
        if (m["id"] == req.matches[1].str()) return res.set_content(dump(m), "application/json");
      }
      write_error(res, api_error{.http_status = 404,
                                 .message = fmt::format("The model '{}' does not exist", req.matches[1].str()),
                                 .param = "model",
                                 .code = "model_not_found"});
    });
    server.Post("/v1/chat/completions", [this, handler_options](const httplib::Request& req, httplib::Response& res) {
      handle_completion(endpoint_kind::chat, service, handler_options, req, res);
    });
    server.Post("/v1/completions", [this, handler_options](const httplib::Request& req, httplib::Response& res) {
      handle_completion(endpoint_kind::completion, service, handler_options, req, res);
    });
    add_wrong_methods();
  }

  void add_wrong_methods() {
    for (const char* path : {"/health", "/v1/models", R"(/v1/models/(.+))"}) {
      auto get_only = [](const httplib::Request& req, httplib::Response& res) { method_not_allowed(req, res, "GET"); };
      server.Post(path, get_only).Put(path, get_only).Patch(path, get_only).Delete(path, get_only);
    }
    for (const char* path : {"/v1/chat/completions", "/v1/completions"}) {
      auto post_only = [](const httplib::Request& req, httplib::Response& res) { method_not_allowed(req, res, "POST"); };
      server.Get(path, post_only).Put(path, post_only).Patch(path, post_only).Delete(path, post_only);
    }
  }

  void add_handlers() {
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (keys.empty() || req.path == "/health" || authorized(req, keys)) return httplib::Server::HandlerResponse::Unhandled;
      write_error(res, api_error{.http_status = 401,
                                 .message = "Incorrect or missing API key: send 'Authorization: Bearer <key>'",
                                 .code = "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses set by cpp-httplib itself (no route, body too large...) come without a body.
    server.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty() || res.is_chunked_content_provider_) return httplib::Server::HandlerResponse::Unhandled;
          write_error(res, route_error(res.status, req));
          return httplib::Server::HandlerResponse::Handled;
        }));
    server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      write_error(res, api_error{.http_status = 500, .message = "internal error: " + what, .type = "internal_error"});
    });
  }
};

result<std::vector<std::string>> read_api_keys_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(errc::not_found, "cannot read the API keys file {}", path.string());
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    keys.push_back(line.substr(first, last - first + 1));
  }
  if (keys.empty()) return make_error(errc::invalid_argument, "the API keys file {} holds no key", path.string());
  return keys;
}

result<std::unique_ptr<http_server>> http_server::start(const http_server_options& options,
                                                        completion_service& service) {
  if (options.num_threads < 1) return make_error(errc::invalid_argument, "num_threads must be >= 1, got {}", options.num_threads);
  if (options.max_body_bytes < 1) return make_error(errc::invalid_argument, "max_body_bytes must be >= 1");
  std::vector<std::string> keys = options.api_keys;
  if (options.api_keys_file) {
    TROUPE_ASSIGN_OR_RETURN(std::vector<std::string> from_file, read_api_keys_file(*options.api_keys_file));
    keys.insert(keys.end(), from_file.begin(), from_file.end());
  }
  auto state = std::make_unique<impl>(options, service, std::move(keys));
  httplib::Server& svr = state->server;
  const auto num_threads = static_cast<std::size_t>(options.num_threads);
  svr.new_task_queue = [num_threads] { return new httplib::ThreadPool(num_threads); };
  svr.set_keep_alive_timeout(options.keep_alive_timeout_s);
  svr.set_payload_max_length(static_cast<std::size_t>(options.max_body_bytes));
  svr.set_tcp_nodelay(true);
  // Debian's compiled cpp-httplib listens with a backlog of 5: a burst of clients (64 at once in
  // the cluster test) overflows the accept queue and connections get reset. Keep the listening
  // socket to raise its backlog once bound (listen() again on a listening socket only resizes it).
  auto listen_socket = std::make_shared<socket_t>(INVALID_SOCKET);
  svr.set_socket_options([listen_socket](socket_t sock) {
    httplib::default_socket_options(sock);
    *listen_socket = sock;
  });
  state->add_handlers();
  state->add_routes();
  if (options.port == 0) {
    const int port = svr.bind_to_any_port(options.host);
    if (port <= 0) return make_error(errc::unavailable, "cannot bind {} to a free port", options.host);
    state->bound_port = static_cast<std::uint16_t>(port);
  } else {
    if (!svr.bind_to_port(options.host, options.port)) {
      return make_error(errc::unavailable, "cannot bind {}:{} (in use, or not an address of this host)", options.host,
                        options.port);
    }
    state->bound_port = options.port;
  }
  if (*listen_socket != INVALID_SOCKET) ::listen(*listen_socket, SOMAXCONN);
  state->listener = std::thread([raw = state.get()] { raw->server.listen_after_bind(); });
  // stop() before the listen loop runs would be lost (cpp-httplib ignores it): wait for it.
  for (int i = 0; i < 500 && !svr.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return std::unique_ptr<http_server>(new http_server(std::move(state)));
}

http_server::http_server(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

http_server::~http_server() { stop(); }

void http_server::stop() {
  if (!impl_->listener.joinable()) return;
  impl_->server.stop();
  impl_->listener.join();
}

std::uint16_t http_server::port() const { return impl_->bound_port; }

}  // namespace troupe::api
