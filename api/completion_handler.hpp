// POST /v1/chat/completions and /v1/completions over a completion_service: parse, submit one
// stream per choice, then answer with one JSON body or with server-sent events. Internal to api/
// (http_server.cpp wires it to cpp-httplib).
#pragma once

#include <chrono>

#include <httplib.h>

#include "api/api_error.hpp"
#include "api/completion_service.hpp"
#include "api/request_parser.hpp"

namespace troupe::api {

struct completion_handler_options {
  // Longest silence on an SSE stream: a ": ping" comment is written after it, which is how a
  // client that went away is noticed (cpp-httplib only reports it when a write fails).
  std::chrono::milliseconds ping_interval{1000};
};

void handle_completion(endpoint_kind kind, completion_service& service, const completion_handler_options& options,
                       const httplib::Request& request, httplib::Response& response);

// Writes an OpenAI error body with its status.
void write_error(httplib::Response& response, const api_error& err);

}  // namespace troupe::api
