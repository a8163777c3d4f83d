// Global functions of transformers' chat-template environment (raise_exception, strftime_now)
// and jinja2's (namespace, range, dict), and Python's arithmetic operators.
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "engine/chat/builtins.hpp"
#include "engine/chat/interpreter.hpp"

namespace troupe::jinja {
namespace {

constexpr std::int64_t max_range_length = 100000;  // jinja2's sandbox limit (MAX_RANGE)

value make_namespace(call_args& args, source_pos pos) {
  auto ns = std::make_shared<namespace_object>();
  if (args.positional.size() > 1) fail(errc::invalid_argument, pos, "namespace() takes at most one positional argument");
  if (!args.positional.empty()) {
    if (!args.positional[0].is_dict()) fail(errc::invalid_argument, pos, "namespace() positional argument must be a dict");
    ns->attributes = args.positional[0].as_dict();
  }
  for (auto& [key, v] : args.named) ns->attributes.set(key, v);
  return ns;
}

value make_range(call_args& args, source_pos pos) {
  if (!args.named.empty() || args.positional.empty() || args.positional.size() > 3) {
    fail(errc::invalid_argument, pos, "range() takes 1 to 3 positional integer arguments");
  }
  for (const value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) fail(errc::invalid_argument, pos, fmt::format("range() arguments must be integers, not {}", type_name(v)));
  }
  std::int64_t start = 0;
  std::int64_t stop = args.positional[0].as_int();
  std::int64_t step = 1;
  if (args.positional.size() >= 2) {
    start = args.positional[0].as_int();
    stop = args.positional[1].as_int();
  }
  if (args.positional.size() == 3) step = args.positional[2].as_int();
  if (step == 0) fail(errc::invalid_argument, pos, "range() step must not be zero");
  list out;
  for (std::int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<std::int64_t>(out.size()) >= max_range_length) {
      fail(errc::invalid_argument, pos, fmt::format("range() is limited to {} items", max_range_length));
    }
    out.emplace_back(i);
  }
  return out;
}

value make_dict(call_args& args, source_pos pos) {
  if (!args.positional.empty()) fail(errc::unsupported, pos, "dict() supports keyword arguments only");
  dict d;
  for (auto& [key, v] : args.named) d.set(key, v);
  return d;
}

value raise_exception(call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"message"}, "raise_exception", pos);
  fail(errc::invalid_argument, pos, fmt::format("raise_exception: {}", bound[0] ? to_str(*bound[0]) : std::string()));
}

std::string format_time(const std::string& format, const std::tm& time) {
  if (format.empty()) return {};
  std::string buf(format.size() * 4 + 64, '\0');
  while (true) {
    const std::size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &time);
    if (n > 0 || buf.size() > 65536) return buf.substr(0, n);
    buf.resize(buf.size() * 2);
  }
}

value checked_int(long double exact, std::int64_t result, source_pos pos) {
  if (std::fabs(exact) > 9.2e18L) fail(errc::unsupported, pos, "integer arithmetic overflows 64 bits");
  return result;
}

value python_floor_mod(const value& a, const value& b, bool want_div, source_pos pos) {
  if (a.is_float() || b.is_float()) {
    const double x = a.as_double();
    const double y = b.as_double();
    if (y == 0.0) fail(errc::invalid_argument, pos, "float division by zero");
    const double q = std::floor(x / y);
    return want_div ? q : x - q * y;
  }
  const std::int64_t x = a.as_int();
  const std::int64_t y = b.as_int();
  if (y == 0) fail(errc::invalid_argument, pos, "integer division or modulo by zero");
  std::int64_t q = x / y;
  std::int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) {
    --q;
    r += y;
  }
  return want_div ? q : r;
}

value repeat(const value& seq, std::int64_t times) {
  if (seq.is_string()) {
    std::string out;
    for (std::int64_t i = 0; i < times; ++i) out += seq.as_string();
    return out;
  }
  list out;
  for (std::int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return out;
}

}  // namespace

value interpreter::builtin_global(const std::string& name) const {
  if (name == "raise_exception") return callable{name, raise_exception};
  if (name == "namespace") return callable{name, make_namespace};
  if (name == "range") return callable{name, make_range};
  if (name == "dict") return callable{name, make_dict};
  if (name == "strftime_now") {
    return callable{name, [this](call_args& args, source_pos pos) -> value {
                      auto bound = bind_args(args, {"format"}, "strftime_now", pos);
                      if (!bound[0] || !bound[0]->is_string()) fail(errc::invalid_argument, pos, "strftime_now() needs a format string");
                      std::tm time{};
                      if (hooks_.local_time) {
                        time = *hooks_.local_time;
                      } else {
                        const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
                        localtime_r(&now, &time);
                      }
                      return format_time(bound[0]->as_string(), time);
                    }};
  }
  return undefined{fmt::format("'{}'", name)};
}

value binary_operation(const std::string& op, const value& a, const value& b, source_pos pos) {
  if (op == "~") return to_str(a) + to_str(b);
  if (a.is_undefined() || b.is_undefined()) {
    fail(errc::invalid_argument, pos,
         fmt::format("{} is undefined and cannot be used with '{}'", a.is_undefined() ? a.as_undefined().name : b.as_undefined().name, op));
  }
  const bool numbers = a.is_number() && b.is_number();
  const bool floats = numbers && (a.is_float() || b.is_float());
  if (op == "+") {
    if (numbers) return floats ? value(a.as_double() + b.as_double()) : checked_int(static_cast<long double>(a.as_int()) + b.as_int(), a.as_int() + b.as_int(), pos);
    if (a.is_string() && b.is_string()) return a.as_string() + b.as_string();
    if (a.is_list() && b.is_list()) {
      list out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return out;
    }
  } else if (op == "-" && numbers) {
    return floats ? value(a.as_double() - b.as_double()) : checked_int(static_cast<long double>(a.as_int()) - b.as_int(), a.as_int() - b.as_int(), pos);
  } else if (op == "*") {
    if (numbers) return floats ? value(a.as_double() * b.as_double()) : checked_int(static_cast<long double>(a.as_int()) * b.as_int(), a.as_int() * b.as_int(), pos);
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
  } else if (op == "/" && numbers) {
    if (b.as_double() == 0.0) fail(errc::invalid_argument, pos, "division by zero");
    return a.as_double() / b.as_double();
  } else if ((op == "//" || op == "%") && numbers) {
    return python_floor_mod(a, b, op == "//", pos);
  } else if (op == "%" && a.is_string()) {
    fail(errc::unsupported, pos, "printf-style string formatting ('...' % value) is not supported");
  } else if (op == "**" && numbers) {
    if (!floats && b.as_int() >= 0) {
      const long double exact = std::pow(static_cast<long double>(a.as_int()), static_cast<long double>(b.as_int()));
      std::int64_t result = 1;
      for (std::int64_t i = 0; i < b.as_int() && std::fabs(exact) <= 9.2e18L; ++i) result *= a.as_int();
      return checked_int(exact, result, pos);
    }
    return std::pow(a.as_double(), b.as_double());
  }
  fail(errc::invalid_argument, pos,
       fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b)));
}

}  // namespace troupe::jinja
