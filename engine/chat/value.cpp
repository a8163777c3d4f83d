#include "engine/chat/value.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/chat/text.hpp"

namespace troupe::jinja {

void fail(errc code, source_pos pos, std::string_view message) {
  throw template_error{code, fmt::format("line {}:{}: {}", pos.line, pos.column, message)};
}

const value* dict::find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void dict::set(std::string key, value v) {
  for (auto& [k, existing] : items) {
    if (k == key) {
      existing = std::move(v);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(v));
}

std::int64_t value::as_int() const { return is_bool() ? (as_bool() ? 1 : 0) : std::get<std::int64_t>(data_); }

double value::as_double() const { return is_float() ? std::get<double>(data_) : static_cast<double>(as_int()); }

bool value::truthy() const {
  if (is_undefined() || is_none()) return false;
  if (is_bool()) return as_bool();
  if (is_int()) return as_int() != 0;
  if (is_float()) return as_double() != 0.0;
  if (is_string()) return !as_string().empty();
  if (is_list()) return !as_list().empty();
  if (is_dict()) return !as_dict().items.empty();
  return true;  // namespaces and callables
}

value from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
    case nlohmann::ordered_json::value_t::discarded:
      return none_type{};
    case nlohmann::ordered_json::value_t::boolean:
      return json.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer:
      return json.get<std::int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = json.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        throw template_error{errc::unsupported, fmt::format("context integer {} does not fit in 64 bits", u)};
      }
      return static_cast<std::int64_t>(u);
    }
    case nlohmann::ordered_json::value_t::number_float:
      return json.get<double>();
    case nlohmann::ordered_json::value_t::string:
      return json.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      list items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item));
      return items;
    }
    case nlohmann::ordered_json::value_t::object: {
      dict d;
      d.items.reserve(json.size());
      for (const auto& [key, item] : json.items()) d.items.emplace_back(key, from_json(item));
      return d;
    }
    case nlohmann::ordered_json::value_t::binary:
      break;
  }
  throw template_error{errc::unsupported, "binary JSON values cannot be passed to a chat template"};
}

std::string_view type_name(const value& v) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_none()) return "NoneType";
  if (v.is_bool()) return "bool";
  if (v.is_int()) return "int";
  if (v.is_float()) return "float";
  if (v.is_string()) return "str";
  if (v.is_list()) return "list";
  if (v.is_dict()) return "dict";
  if (v.is_namespace()) return "Namespace";
  return "function";
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  // Shortest round-trip digits as d.ddde[+-]x, then laid out the way Python's repr does.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, end);
  const std::size_t e_at = sci.find('e');
  const int exponent = std::stoi(sci.substr(e_at + 1));
  std::string mantissa = sci.substr(0, e_at);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  // Built with fmt::format: GCC 12 reports a false -Wrestrict on chained std::string operator+.
  const std::string_view sign = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    const std::string_view fraction = std::string_view(digits).substr(1);
    return fmt::format("{}{}{}{}e{}{:02d}", sign, digits[0], fraction.empty() ? "" : ".", fraction,
                       exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  if (exponent < 0) return fmt::format("{}0.{}{}", sign, std::string(static_cast<std::size_t>(-exponent - 1), '0'), digits);
  const auto num_int_digits = static_cast<std::size_t>(exponent) + 1;
  if (digits.size() <= num_int_digits) {
    return fmt::format("{}{}{}.0", sign, digits, std::string(num_int_digits - digits.size(), '0'));
  }
  return fmt::format("{}{}.{}", sign, std::string_view(digits).substr(0, num_int_digits),
                     std::string_view(digits).substr(num_int_digits));
}

std::string to_str(const value& v) {
  if (v.is_undefined()) return "";
  if (v.is_string()) return v.as_string();
  return to_repr(v);
}

std::string to_repr(const value& v) {
  if (v.is_undefined()) return "Undefined";
  if (v.is_none()) return "None";
  if (v.is_bool()) return v.as_bool() ? "True" : "False";
  if (v.is_int()) return std::to_string(v.as_int());
  if (v.is_float()) return float_repr(v.as_double());
  if (v.is_string()) return python_string_repr(v.as_string());
  if (v.is_list()) {
    std::string out = v.is_tuple() ? "(" : "[";
    for (std::size_t i = 0; i < v.as_list().size(); ++i) {
      if (i > 0) out += ", ";
      out += to_repr(v.as_list()[i]);
    }
    if (v.is_tuple() && v.as_list().size() == 1) out += ",";
    out += v.is_tuple() ? ")" : "]";
    return out;
  }
  if (v.is_dict() || v.is_namespace()) {
    const dict& d = v.is_dict() ? v.as_dict() : v.as_namespace().attributes;
    std::string out = v.is_dict() ? "{" : "<Namespace {";
    for (std::size_t i = 0; i < d.items.size(); ++i) {
      if (i > 0) out += ", ";
      out += python_string_repr(d.items[i].first) + ": " + to_repr(d.items[i].second);
    }
    return out + (v.is_dict() ? "}" : "}>");
  }
  return "<function " + v.as_callable().name + ">";
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

void append_json(std::string& out, const value& v, const json_format& format, int depth, source_pos pos);

void append_newline_indent(std::string& out, const json_format& format, int depth) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(format.indent * depth), ' ');
}

void append_json_dict(std::string& out, const dict& d, const json_format& format, int depth, source_pos pos) {
  if (d.items.empty()) {
    out += "{}";
    return;
  }
  std::vector<const std::pair<std::string, value>*> entries;
  for (const auto& entry : d.items) entries.push_back(&entry);
  if (format.sort_keys) {
    std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
  }
  out.push_back('{');
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += format.item_separator;
    if (format.indent >= 0) append_newline_indent(out, format, depth + 1);
    append_json_string(out, entries[i]->first);
    out += format.key_separator;
    append_json(out, entries[i]->second, format, depth + 1, pos);
  }
  if (format.indent >= 0) append_newline_indent(out, format, depth);
  out.push_back('}');
}

void append_json(std::string& out, const value& v, const json_format& format, int depth, source_pos pos) {
  if (v.is_none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.as_int());
  } else if (v.is_float()) {
    const double d = v.as_double();
    out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : float_repr(d);
  } else if (v.is_string()) {
    append_json_string(out, v.as_string());
  } else if (v.is_list()) {
    const list& items = v.as_list();
    if (items.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += format.item_separator;
      if (format.indent >= 0) append_newline_indent(out, format, depth + 1);
      append_json(out, items[i], format, depth + 1, pos);
    }
    if (format.indent >= 0) append_newline_indent(out, format, depth);
    out.push_back(']');
  } else if (v.is_dict()) {
    append_json_dict(out, v.as_dict(), format, depth, pos);
  } else {
    fail(errc::invalid_argument, pos, fmt::format("tojson: Object of type {} is not JSON serializable", type_name(v)));
  }
}

}  // namespace

std::string to_json(const value& v, const json_format& format, source_pos pos) {
  std::string out;
  append_json(out, v, format, 0, pos);
  return out;
}

bool equals(const value& a, const value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_none() && b.is_none()) return true;
  if (a.is_undefined() && b.is_undefined()) return true;
  if (a.is_list() && b.is_list()) {
    const list& x = a.as_list();
    const list& y = b.as_list();
    if (x.size() != y.size() || a.is_tuple() != b.is_tuple()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!equals(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_dict() && b.is_dict()) {
    const dict& x = a.as_dict();
    const dict& y = b.as_dict();
    if (x.items.size() != y.items.size()) return false;
    for (const auto& [key, item] : x.items) {
      const value* other = y.find(key);
      if (other == nullptr || !equals(item, *other)) return false;
    }
    return true;
  }
  if (a.is_namespace() && b.is_namespace()) return &a.as_namespace() == &b.as_namespace();
  if (a.is_callable() && b.is_callable()) return &a.as_callable() == &b.as_callable();
  return false;
}

int compare(const value& a, const value& b, source_pos pos) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) {
      const double x = a.as_double();
      const double y = b.as_double();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && b.is_list()) {
    const list& x = a.as_list();
    const list& y = b.as_list();
    for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
      if (!equals(x[i], y[i])) return compare(x[i], y[i], pos);
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  if (a.is_undefined() || b.is_undefined()) {
    fail(errc::invalid_argument, pos,
         fmt::format("{} is undefined and cannot be compared", a.is_undefined() ? a.as_undefined().name : b.as_undefined().name));
  }
  fail(errc::invalid_argument, pos,
       fmt::format("'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b)));
}

}  // namespace troupe::jinja
