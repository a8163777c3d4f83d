// Typed reads of one field of a request body, each failing with a 400 that names the field.
// A missing field and an explicit null both mean "not given": the target is left unchanged.
// Internal to api/ (request_parser*.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_error.hpp"

namespace troupe::api::fields {

using json = nlohmann::ordered_json;
using maybe_error = std::optional<api_error>;

// The field, or nullptr when absent or null.
const json* find(const json& object, const char* key);

maybe_error read_bool(const json& object, const char* key, bool& out);
maybe_error read_string(const json& object, const char* key, std::string& out);
// A finite number (integers are numbers too).
maybe_error read_float(const json& object, const char* key, float& out);
// An integer (or a number with an integral value) in [lo, hi].
maybe_error read_int(const json& object, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t& out);
// An integer in [lo, hi] from a JSON value already found; `param` names it in errors.
maybe_error to_int(const json& value, const std::string& param, std::int64_t lo, std::int64_t hi, std::int64_t& out);

}  // namespace troupe::api::fields

// Returns the error of a maybe_error expression, if any.
#define TROUPE_API_TRY(expr)                                   \
  do {                                                         \
    if (auto troupe_api_error_ = (expr)) return std::move(*troupe_api_error_); \
  } while (false)
