// Errors as values: troupe::error and troupe::result<T>, used at every module boundary.
//
// A result<T> holds either a T or an error. Functions that can fail on bad input (files, requests,
// configuration) return one; exceptions never cross a module boundary.
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace troupe {

// What kind of failure; callers branch on this, people read the message.
enum class errc {
  invalid_argument,  // a caller-supplied value is out of range or malformed
  not_found,         // a file, tensor, key or request that should exist does not
  io_error,          // the operating system refused a read/write/mmap
  parse_error,       // a file or message is not valid in its format
  unsupported,       // valid input that troupe does not implement (names the feature)
  out_of_memory,     // a device or host allocation failed
  internal,          // a broken invariant inside troupe
  unavailable,       // no one can serve it now (no ready replica, peer gone); retry later
  resource_exhausted,  // a bounded queue is full (admission); retry later
  cancelled,         // stopped on request (client disconnect, shutdown)
  timeout,           // a deadline passed
};

std::string_view errc_name(errc code);

struct error {
  errc code = errc::internal;
  std::string message;  // complete sentence naming the input (file, tensor, field, value)

  std::string to_string() const;
};

// Builds an error with a fmt-style message: make_error(errc::not_found, "no tensor {}", name).
template <class... Args>
error make_error(errc code, fmt::format_string<Args...> format, Args&&... args) {
  return error{code, fmt::format(format, std::forward<Args>(args)...)};
}

template <class T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  result(troupe::error err) : storage_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(storage_); }
  const T& value() const& { assert(has_value()); return std::get<0>(storage_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const troupe::error& error() const& { assert(!has_value()); return std::get<1>(storage_); }
  troupe::error&& error() && { assert(!has_value()); return std::get<1>(std::move(storage_)); }

 private:
  std::variant<T, troupe::error> storage_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(troupe::error err) : error_(std::move(err)), failed_(true) {}  // NOLINT: implicit

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  const troupe::error& error() const& { assert(failed_); return error_; }
  troupe::error&& error() && { assert(failed_); return std::move(error_); }

 private:
  troupe::error error_;
  bool failed_ = false;
};

using status = result<void>;

inline status ok() { return {}; }

}  // namespace troupe

// Propagates a failed result to the caller; otherwise moves its value into `lhs`.
//   TROUPE_ASSIGN_OR_RETURN(auto file, mapped_file::open(path));
#define TROUPE_CONCAT_INNER_(a, b) a##b
#define TROUPE_CONCAT_(a, b) TROUPE_CONCAT_INNER_(a, b)
#define TROUPE_ASSIGN_OR_RETURN(lhs, expr) \
  TROUPE_ASSIGN_OR_RETURN_IMPL_(TROUPE_CONCAT_(troupe_result_, __LINE__), lhs, expr)
#define TROUPE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return std::move(tmp).error();            \
  lhs = std::move(tmp).value()

// Propagates a failed status (or result) to the caller.
#define TROUPE_RETURN_IF_ERROR(expr)                                  \
  do {                                                                \
    auto troupe_status_ = (expr);                                     \
    if (!troupe_status_) return std::move(troupe_status_).error();    \
  } while (false)
