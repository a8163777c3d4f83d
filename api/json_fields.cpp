#include "api/json_fields.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace troupe::api::fields {

const json* find(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

maybe_error read_bool(const json& object, const char* key, bool& out) {
  const json* v = find(object, key);
  if (v == nullptr) return {};
  if (!v->is_boolean()) return bad_request(key, fmt::format("'{}' must be a boolean, got {}", key, v->type_name()));
  out = v->get<bool>();
  return {};
}

maybe_error read_string(const json& object, const char* key, std::string& out) {
  const json* v = find(object, key);
  if (v == nullptr) return {};
  if (!v->is_string()) return bad_request(key, fmt::format("'{}' must be a string, got {}", key, v->type_name()));
  out = v->get<std::string>();
  return {};
}

maybe_error read_float(const json& object, const char* key, float& out) {
  const json* v = find(object, key);
  if (v == nullptr) return {};
  if (!v->is_number()) return bad_request(key, fmt::format("'{}' must be a number, got {}", key, v->type_name()));
  const double value = v->get<double>();
  if (!std::isfinite(value) || std::abs(value) > std::numeric_limits<float>::max()) {
    return bad_request(key, fmt::format("'{}' must be a finite number, got {}", key, v->dump()));
  }
  out = static_cast<float>(value);
  return {};
}

maybe_error to_int(const json& value, const std::string& param, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  std::int64_t parsed = 0;
  if (value.is_number_unsigned()) {
    const std::uint64_t u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return bad_request(param, fmt::format("'{}' must be in [{}, {}], got {}", param, lo, hi, u));
    }
    parsed = static_cast<std::int64_t>(u);
  } else if (value.is_number_integer()) {
    parsed = value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d || std::abs(d) > 9.0e18) {
      return bad_request(param, fmt::format("'{}' must be an integer, got {}", param, value.dump()));
    }
    parsed = static_cast<std::int64_t>(d);
  } else {
    return bad_request(param, fmt::format("'{}' must be an integer, got {}", param, value.type_name()));
  }
  if (parsed < lo || parsed > hi) {
    return bad_request(param, fmt::format("'{}' must be in [{}, {}], got {}", param, lo, hi, parsed));
  }
  out = parsed;
  return {};
}

maybe_error read_int(const json& object, const char* key, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  const json* v = find(object, key);
  if (v == nullptr) return {};
  return to_int(*v, key, lo, hi, out);
}

}  // namespace troupe::api::fields
