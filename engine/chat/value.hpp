// Runtime values of the chat-template interpreter: the Python objects a jinja2 template sees
// (None, bool, int, float, str, list, dict, jinja2's Undefined and Namespace, callables).
//
// Lists and dicts are immutable once built (transformers renders in jinja2's
// ImmutableSandboxedEnvironment), so values share them through shared_ptr and copying a value is
// cheap. Only a namespace() object is mutable, and it is shared by reference as in Python.
// Dicts keep insertion order, like Python dicts; keys are strings (JSON keys).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/common/result.hpp"

namespace troupe::jinja {

// 1-based line and column (in bytes) of a construct in the template source.
struct source_pos {
  int line = 0;
  int column = 0;
};

// A failure while lexing, parsing or rendering. It is thrown inside this module only and turned
// into a troupe::error by chat_template's public functions.
struct template_error {
  errc code = errc::internal;
  std::string message;
};

// Throws template_error with "line L:C: <message>".
[[noreturn]] void fail(errc code, source_pos pos, std::string_view message);

class value;
using list = std::vector<value>;

struct dict {
  std::vector<std::pair<std::string, value>> items;  // insertion order

  const value* find(std::string_view key) const;
  void set(std::string key, value v);  // replaces an existing key in place
};

// Arguments of a call: f(a, b, key=c).
struct call_args {
  std::vector<value> positional;
  std::vector<std::pair<std::string, value>> named;
};

struct callable {
  std::string name;  // for error messages: "raise_exception", "str.split", macro names
  std::function<value(call_args&, source_pos)> invoke;
};

// jinja2's default Undefined: renders as "", is falsy, iterates as empty; anything else fails.
struct undefined {
  std::string name;  // what was looked up ("'content'"), for error messages
};

struct none_type {};

// The result of namespace(...): the one mutable object (`{% set ns.attr = ... %}`).
struct namespace_object {
  dict attributes;
};

class value {
 public:
  using list_ptr = std::shared_ptr<const list>;
  using dict_ptr = std::shared_ptr<const dict>;
  using namespace_ptr = std::shared_ptr<namespace_object>;
  using callable_ptr = std::shared_ptr<const callable>;

  value() : data_(undefined{}) {}
  value(none_type) : data_(none_type{}) {}         // NOLINT: implicit
  value(bool b) : data_(b) {}                       // NOLINT: implicit
  value(std::int64_t i) : data_(i) {}               // NOLINT: implicit
  value(int i) : data_(static_cast<std::int64_t>(i)) {}  // NOLINT: implicit
  value(double d) : data_(d) {}                     // NOLINT: implicit
  value(std::string s) : data_(std::move(s)) {}     // NOLINT: implicit
  value(const char* s) : data_(std::string(s)) {}   // NOLINT: implicit
  value(list l) : data_(std::make_shared<const list>(std::move(l))) {}  // NOLINT: implicit
  // A Python tuple: a list that prints as (a, b) and never equals a list.
  static value tuple(list l) {
    value v(std::move(l));
    v.is_tuple_ = true;
    return v;
  }
  value(dict d) : data_(std::make_shared<const dict>(std::move(d))) {}  // NOLINT: implicit
  value(undefined u) : data_(std::move(u)) {}       // NOLINT: implicit
  value(namespace_ptr ns) : data_(std::move(ns)) {}  // NOLINT: implicit
  value(callable c) : data_(std::make_shared<const callable>(std::move(c))) {}  // NOLINT: implicit

  bool is_undefined() const { return std::holds_alternative<undefined>(data_); }
  bool is_none() const { return std::holds_alternative<none_type>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(data_); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_list() const { return std::holds_alternative<list_ptr>(data_); }  // lists and tuples
  bool is_tuple() const { return is_tuple_; }
  bool is_dict() const { return std::holds_alternative<dict_ptr>(data_); }
  bool is_namespace() const { return std::holds_alternative<namespace_ptr>(data_); }
  bool is_callable() const { return std::holds_alternative<callable_ptr>(data_); }

  bool as_bool() const { return std::get<bool>(data_); }
  std::int64_t as_int() const;  // int or bool
  double as_double() const;     // int, bool or float
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const list& as_list() const { return *std::get<list_ptr>(data_); }
  const dict& as_dict() const { return *std::get<dict_ptr>(data_); }
  namespace_object& as_namespace() const { return *std::get<namespace_ptr>(data_); }
  const callable& as_callable() const { return *std::get<callable_ptr>(data_); }
  const undefined& as_undefined() const { return std::get<undefined>(data_); }

  bool truthy() const;  // Python truthiness; Undefined is falsy

 private:
  std::variant<undefined, none_type, bool, std::int64_t, double, std::string, list_ptr, dict_ptr,
               namespace_ptr, callable_ptr>
      data_;
  bool is_tuple_ = false;
};

// Converts JSON (insertion-ordered) into values: object -> dict, array -> list, null -> None.
value from_json(const nlohmann::ordered_json& json);

// Python's type name ("str", "dict", "NoneType", ...), for error messages.
std::string_view type_name(const value& v);

std::string to_str(const value& v);   // Python str(); Undefined renders as ""
std::string to_repr(const value& v);  // Python repr()
std::string float_repr(double d);     // Python repr(float): 1.0, 0.1, 1e+16, 1e-05

// json.dumps(v, ensure_ascii=False, indent=..., separators=..., sort_keys=...) as transformers'
// tojson filter calls it. indent < 0 means None (one line). Fails on values JSON cannot hold.
struct json_format {
  int indent = -1;
  std::string item_separator = ", ";  // Python's default when indent is None; "," otherwise
  std::string key_separator = ": ";
  bool sort_keys = false;
};
std::string to_json(const value& v, const json_format& format, source_pos pos);

bool equals(const value& a, const value& b);  // Python ==
// Python <: -1, 0 or 1; fails naming both types when Python would raise TypeError.
int compare(const value& a, const value& b, source_pos pos);

}  // namespace troupe::jinja
