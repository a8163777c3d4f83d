// Errors of the HTTP API in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with
// the HTTP status that goes with them, and api_result<T> (a value or an api_error).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "engine/common/result.hpp"

namespace troupe::api {

struct api_error {
  int http_status = 400;
  std::string message;                        // a complete sentence naming the input
  std::string type = "invalid_request_error";  // OpenAI's error type
  std::string param;                          // the request field at fault; empty = none (null)
  std::string code;                           // e.g. "model_not_found"; empty = null

  nlohmann::json to_json() const;
};

// 400 invalid_request_error naming `param`.
api_error bad_request(std::string param, std::string message);
// 400 for valid input troupe does not implement (code "unsupported").
api_error unsupported(std::string param, std::string message);
// Maps an error from the completion_service or engine to a status: not_found 404,
// invalid_argument/unsupported/parse_error 400, resource_exhausted 429, unavailable/timeout 503,
// anything else (internal, cancelled, io_error...) 500.
api_error from_error(const error& err, std::string param = {});

template <class T>
class [[nodiscard]] api_result {
 public:
  api_result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}         // NOLINT: implicit
  api_result(api_error err) : storage_(std::in_place_index<1>, std::move(err)) {}     // NOLINT: implicit

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { assert(has_value()); return std::get<0>(storage_); }
  const T& value() const& { assert(has_value()); return std::get<0>(storage_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const api_error& error() const& { assert(!has_value()); return std::get<1>(storage_); }
  api_error&& error() && { assert(!has_value()); return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, api_error> storage_;
};

}  // namespace troupe::api
