// jinja2's built-in filters and tests that chat templates use, plus transformers' tojson.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "engine/chat/builtins.hpp"
#include "engine/chat/text.hpp"

namespace troupe::jinja {
namespace {

using filter_fn = value (*)(const value& input, call_args& args, source_pos pos);
using test_fn = bool (*)(const value& input, call_args& args, source_pos pos);

value arg_or(const std::optional<value>& v, value fallback) { return v ? *v : std::move(fallback); }

// attribute lookup for selectattr/map/join: "a.b.0" follows each dotted part.
value get_path(const value& item, const std::string& path, source_pos pos) {
  value current = item;
  for (const auto& part : split(path, std::string("."), -1, pos)) {
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    current = numeric ? get_item(current, value(std::int64_t{std::stoll(part)}), pos) : get_item(current, value(part), pos);
    if (current.is_undefined()) return current;
  }
  return current;
}

std::string require_attribute_name(const std::optional<value>& v, std::string_view filter, source_pos pos) {
  if (!v || !v->is_string()) fail(errc::invalid_argument, pos, fmt::format("{} needs an attribute name (a string)", filter));
  return v->as_string();
}

value filter_tojson(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"ensure_ascii", "indent", "separators", "sort_keys"}, "tojson", pos);
  json_format format;
  if (bound[0] && bound[0]->truthy()) fail(errc::unsupported, pos, "tojson(ensure_ascii=true) is not supported");
  if (bound[1] && !bound[1]->is_none()) {
    if (!bound[1]->is_int()) fail(errc::unsupported, pos, "tojson indent must be an integer");
    format.indent = static_cast<int>(std::max<std::int64_t>(0, bound[1]->as_int()));
    format.item_separator.assign(1, ',');  // assign(",") trips a GCC 12 -Wrestrict false positive
  }
  if (bound[2] && !bound[2]->is_none()) {
    const value& seps = *bound[2];
    if (!seps.is_list() || seps.as_list().size() != 2 || !seps.as_list()[0].is_string() || !seps.as_list()[1].is_string()) {
      fail(errc::invalid_argument, pos, "tojson separators must be a pair of strings");
    }
    format.item_separator = seps.as_list()[0].as_string();
    format.key_separator = seps.as_list()[1].as_string();
  }
  format.sort_keys = bound[3] && bound[3]->truthy();
  return to_json(input, format, pos);
}

value filter_trim(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"chars"}, "trim", pos);
  std::optional<std::string> chars;
  if (bound[0] && !bound[0]->is_none()) chars = to_str(*bound[0]);
  return strip(to_str(input), chars, strip_side::both, pos);
}

value filter_length(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "length", pos);
  return length_of(input, pos);
}

value filter_upper(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "upper", pos);
  return to_upper(to_str(input), pos);
}

value filter_lower(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "lower", pos);
  return to_lower(to_str(input), pos);
}

// jinja2's title filter is not str.title(): words split at runs of "-", whitespace, "(", "{",
// "[" and "<"; each word is upper(first character) + lower(the rest, cased on its own).
value filter_title(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "title", pos);
  const std::u32string text = decode_utf8(to_str(input), pos);
  auto is_separator = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_python_space(c); };
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && is_separator(text[j]) == is_separator(text[i])) ++j;
    const std::u32string_view run = std::u32string_view(text).substr(i, j - i);
    if (is_separator(text[i])) {
      out += encode_utf8(run);
    } else {
      out += to_upper(encode_utf8(run.substr(0, 1)), pos);
      out += to_lower(encode_utf8(run.substr(1)), pos);
    }
    i = j;
  }
  return out;
}

value filter_capitalize(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "capitalize", pos);
  return capitalize(to_str(input), pos);
}

value filter_default(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"default_value", "boolean"}, "default", pos);
  const bool use_default = input.is_undefined() || (bound[1] && bound[1]->truthy() && !input.truthy());
  return use_default ? arg_or(bound[0], value(std::string())) : input;
}

value filter_join(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"d", "attribute"}, "join", pos);
  const std::string separator = bound[0] ? to_str(*bound[0]) : std::string();
  std::string out;
  bool first = true;
  for (const value& item : iterate(input, pos)) {
    if (!first) out += separator;
    out += to_str(bound[1] ? get_path(item, to_str(*bound[1]), pos) : item);
    first = false;
  }
  return out;
}

value filter_first(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "first", pos);
  const list items = iterate(input, pos);
  return items.empty() ? value(undefined{"'first' of an empty sequence"}) : items.front();
}

value filter_last(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "last", pos);
  const list items = iterate(input, pos);
  return items.empty() ? value(undefined{"'last' of an empty sequence"}) : items.back();
}

value filter_list(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "list", pos);
  return iterate(input, pos);
}

value filter_reverse(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "reverse", pos);
  if (input.is_string()) {
    std::u32string text = decode_utf8(input.as_string(), pos);
    std::reverse(text.begin(), text.end());
    return encode_utf8(text);
  }
  list items = iterate(input, pos);
  std::reverse(items.begin(), items.end());
  return items;
}

value filter_items(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "items", pos);
  if (input.is_undefined()) return list{};
  if (!input.is_dict()) fail(errc::invalid_argument, pos, fmt::format("items: can only get item pairs from a mapping, not {}", type_name(input)));
  list out;
  for (const auto& [key, item] : input.as_dict().items) out.push_back(value::tuple(list{value(key), item}));
  return out;
}

value filter_string(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "string", pos);
  return to_str(input);
}

value filter_safe(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "safe", pos);
  return input;
}

std::optional<std::int64_t> parse_python_int(std::string text, source_pos pos) {
  text = strip(text, std::nullopt, strip_side::both, pos);
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  if (text.empty()) return std::nullopt;
  std::size_t used = 0;
  try {
    const std::int64_t v = std::stoll(text, &used, 10);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  try {
    const double d = std::stod(text, &used);  // int(float(value)), as jinja2's int filter falls back to
    if (used == text.size() && std::isfinite(d)) return static_cast<std::int64_t>(std::trunc(d));
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

value filter_int(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"default", "base"}, "int", pos);
  if (bound[1] && !(bound[1]->is_int() && bound[1]->as_int() == 10)) fail(errc::unsupported, pos, "int filter: only base 10 is supported");
  const value fallback = arg_or(bound[0], value(std::int64_t{0}));
  if (input.is_int() || input.is_bool()) return input.as_int();
  if (input.is_float()) return std::isfinite(input.as_double()) ? value(static_cast<std::int64_t>(std::trunc(input.as_double()))) : fallback;
  if (input.is_string()) {
    const auto parsed = parse_python_int(input.as_string(), pos);
    return parsed ? value(*parsed) : fallback;
  }
  return fallback;
}

value filter_float(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"default"}, "float", pos);
  const value fallback = arg_or(bound[0], value(0.0));
  if (input.is_number()) return input.as_double();
  if (input.is_string()) {
    const std::string text = strip(input.as_string(), std::nullopt, strip_side::both, pos);
    std::size_t used = 0;
    try {
      const double d = std::stod(text, &used);
      if (used == text.size() && !text.empty()) return d;
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

value filter_abs(const value& input, call_args& args, source_pos pos) {
  bind_args(args, {}, "abs", pos);
  if (input.is_float()) return std::fabs(input.as_double());
  if (input.is_int() || input.is_bool()) return input.as_int() < 0 ? -input.as_int() : input.as_int();
  fail(errc::invalid_argument, pos, fmt::format("bad operand type for abs(): '{}'", type_name(input)));
}

value filter_replace(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"old", "new", "count"}, "replace", pos);
  if (!bound[0] || !bound[1]) fail(errc::invalid_argument, pos, "replace needs the old and new strings");
  long count = -1;
  if (bound[2] && !bound[2]->is_none()) count = static_cast<long>(bound[2]->as_int());
  return replace_all(to_str(input), to_str(*bound[0]), to_str(*bound[1]), count);
}

// Python str.splitlines(): the line boundaries indent() splits on.
std::vector<std::u32string> split_lines(const std::u32string& text) {
  std::vector<std::u32string> lines;
  std::u32string line;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    const bool boundary = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                          c == 0x2028 || c == 0x2029;
    if (!boundary) {
      line.push_back(c);
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    lines.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

value filter_indent(const value& input, call_args& args, source_pos pos) {
  auto bound = bind_args(args, {"width", "first", "blank"}, "indent", pos);
  std::string indention = "    ";
  if (bound[0]) indention = bound[0]->is_string() ? bound[0]->as_string() : std::string(static_cast<std::size_t>(std::max<std::int64_t>(0, bound[0]->as_int())), ' ');
  const bool first = bound[1] && bound[1]->truthy();
  const bool blank = bound[2] && bound[2]->truthy();
  const std::vector<std::u32string> lines = split_lines(decode_utf8(to_str(input) + "\n", pos));
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += encode_utf8(lines[i]);
  }
  return first ? indention + out : out;
}

// select/reject/selectattr/rejectattr: keep items where test(item or item.attribute) == keep.
value select_items(const value& input, call_args& args, bool by_attribute, bool keep, std::string_view filter, source_pos pos) {
  std::string attribute;
  std::size_t next = 0;
  if (by_attribute) attribute = require_attribute_name(args.positional.empty() ? std::nullopt : std::optional<value>(args.positional[0]), filter, pos), next = 1;
  std::string test_name;
  if (args.positional.size() > next) {
    if (!args.positional[next].is_string()) fail(errc::invalid_argument, pos, fmt::format("{} needs a test name", filter));
    test_name = args.positional[next].as_string();
    if (!has_test(test_name)) fail(errc::unsupported, pos, fmt::format("{}: unknown test '{}'", filter, test_name));
  }
  call_args test_args;
  for (std::size_t i = next + 1; i < args.positional.size(); ++i) test_args.positional.push_back(args.positional[i]);
  test_args.named = args.named;
  list out;
  for (const value& item : iterate(input, pos)) {
    const value subject = by_attribute ? get_path(item, attribute, pos) : item;
    const bool passed = test_name.empty() ? subject.truthy() : apply_test(test_name, subject, test_args, pos);
    if (passed == keep) out.push_back(item);
  }
  return out;
}

value filter_selectattr(const value& input, call_args& args, source_pos pos) { return select_items(input, args, true, true, "selectattr", pos); }
value filter_rejectattr(const value& input, call_args& args, source_pos pos) { return select_items(input, args, true, false, "rejectattr", pos); }
value filter_select(const value& input, call_args& args, source_pos pos) { return select_items(input, args, false, true, "select", pos); }
value filter_reject(const value& input, call_args& args, source_pos pos) { return select_items(input, args, false, false, "reject", pos); }

value filter_map(const value& input, call_args& args, source_pos pos) {
  list out;
  const auto attribute = std::find_if(args.named.begin(), args.named.end(), [](const auto& kv) { return kv.first == "attribute"; });
  if (attribute != args.named.end()) {
    const auto fallback = std::find_if(args.named.begin(), args.named.end(), [](const auto& kv) { return kv.first == "default"; });
    const std::string path = to_str(attribute->second);
    for (const value& item : iterate(input, pos)) {
      value v = get_path(item, path, pos);
      out.push_back(v.is_undefined() && fallback != args.named.end() ? fallback->second : v);
    }
    return out;
  }
  if (args.positional.empty() || !args.positional[0].is_string()) fail(errc::invalid_argument, pos, "map needs a filter name or attribute=");
  const std::string name = args.positional[0].as_string();
  if (!has_filter(name)) fail(errc::unsupported, pos, fmt::format("map: unknown filter '{}'", name));
  call_args filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.named = args.named;
  for (const value& item : iterate(input, pos)) {
    call_args per_item = filter_args;
    out.push_back(apply_filter(name, item, per_item, pos));
  }
  return out;
}

const std::map<std::string, filter_fn, std::less<>>& filters() {
  static const std::map<std::string, filter_fn, std::less<>> table = {
      {"abs", filter_abs},         {"capitalize", filter_capitalize}, {"count", filter_length},
      {"d", filter_default},       {"default", filter_default},       {"first", filter_first},
      {"float", filter_float},     {"indent", filter_indent},         {"int", filter_int},
      {"items", filter_items},     {"join", filter_join},             {"last", filter_last},
      {"length", filter_length},   {"list", filter_list},             {"lower", filter_lower},
      {"map", filter_map},         {"reject", filter_reject},         {"rejectattr", filter_rejectattr},
      {"replace", filter_replace}, {"reverse", filter_reverse},       {"safe", filter_safe},
      {"select", filter_select},   {"selectattr", filter_selectattr}, {"string", filter_string},
      {"title", filter_title},     {"tojson", filter_tojson},         {"trim", filter_trim},
      {"upper", filter_upper},
  };
  return table;
}

const value& test_arg(const call_args& args, std::string_view test, source_pos pos) {
  if (args.positional.size() != 1) fail(errc::invalid_argument, pos, fmt::format("test '{}' takes one argument", test));
  return args.positional[0];
}

bool test_defined(const value& v, call_args&, source_pos) { return !v.is_undefined(); }
bool test_undefined(const value& v, call_args&, source_pos) { return v.is_undefined(); }
bool test_none(const value& v, call_args&, source_pos) { return v.is_none(); }
bool test_boolean(const value& v, call_args&, source_pos) { return v.is_bool(); }
bool test_true(const value& v, call_args&, source_pos) { return v.is_bool() && v.as_bool(); }
bool test_false(const value& v, call_args&, source_pos) { return v.is_bool() && !v.as_bool(); }
bool test_integer(const value& v, call_args&, source_pos) { return v.is_int(); }
bool test_float(const value& v, call_args&, source_pos) { return v.is_float(); }
bool test_number(const value& v, call_args&, source_pos) { return v.is_number(); }
bool test_string(const value& v, call_args&, source_pos) { return v.is_string(); }
bool test_mapping(const value& v, call_args&, source_pos) { return v.is_dict(); }
bool test_iterable(const value& v, call_args&, source_pos) { return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined(); }
bool test_sequence(const value& v, call_args&, source_pos) { return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined(); }
bool test_callable(const value& v, call_args&, source_pos) { return v.is_callable(); }
bool test_eq(const value& v, call_args& args, source_pos pos) { return equals(v, test_arg(args, "eq", pos)); }
bool test_ne(const value& v, call_args& args, source_pos pos) { return !equals(v, test_arg(args, "ne", pos)); }
bool test_lt(const value& v, call_args& args, source_pos pos) { return compare(v, test_arg(args, "lt", pos), pos) < 0; }
bool test_le(const value& v, call_args& args, source_pos pos) { return compare(v, test_arg(args, "le", pos), pos) <= 0; }
bool test_gt(const value& v, call_args& args, source_pos pos) { return compare(v, test_arg(args, "gt", pos), pos) > 0; }
bool test_ge(const value& v, call_args& args, source_pos pos) { return compare(v, test_arg(args, "ge", pos), pos) >= 0; }
bool test_in(const value& v, call_args& args, source_pos pos) { return contains(test_arg(args, "in", pos), v, pos); }

std::int64_t require_int(const value& v, std::string_view test, source_pos pos) {
  if (!v.is_int() && !v.is_bool()) fail(errc::invalid_argument, pos, fmt::format("test '{}' needs an integer, not {}", test, type_name(v)));
  return v.as_int();
}

bool test_odd(const value& v, call_args&, source_pos pos) { return require_int(v, "odd", pos) % 2 != 0; }
bool test_even(const value& v, call_args&, source_pos pos) { return require_int(v, "even", pos) % 2 == 0; }
bool test_divisibleby(const value& v, call_args& args, source_pos pos) {
  const std::int64_t d = require_int(test_arg(args, "divisibleby", pos), "divisibleby", pos);
  if (d == 0) fail(errc::invalid_argument, pos, "divisibleby 0");
  return require_int(v, "divisibleby", pos) % d == 0;
}

bool test_sameas(const value& v, call_args& args, source_pos pos) {
  const value& other = test_arg(args, "sameas", pos);
  if (v.is_none() || other.is_none()) return v.is_none() && other.is_none();
  if (v.is_bool() || other.is_bool()) return v.is_bool() && other.is_bool() && v.as_bool() == other.as_bool();
  fail(errc::unsupported, pos, "test 'sameas' is only supported against none, true and false");
}

const std::map<std::string, test_fn, std::less<>>& tests() {
  static const std::map<std::string, test_fn, std::less<>> table = {
      {"defined", test_defined}, {"undefined", test_undefined}, {"none", test_none},         {"boolean", test_boolean},
      {"true", test_true},       {"false", test_false},         {"integer", test_integer},   {"float", test_float},
      {"number", test_number},   {"string", test_string},       {"mapping", test_mapping},   {"iterable", test_iterable},
      {"sequence", test_sequence}, {"callable", test_callable}, {"eq", test_eq},             {"equalto", test_eq},
      {"==", test_eq},           {"ne", test_ne},               {"!=", test_ne},             {"lt", test_lt},
      {"lessthan", test_lt},     {"<", test_lt},                {"le", test_le},             {"<=", test_le},
      {"gt", test_gt},           {"greaterthan", test_gt},      {">", test_gt},              {"ge", test_ge},
      {">=", test_ge},           {"in", test_in},               {"odd", test_odd},           {"even", test_even},
      {"divisibleby", test_divisibleby}, {"sameas", test_sameas},
  };
  return table;
}

}  // namespace

bool has_filter(std::string_view name) { return filters().find(name) != filters().end(); }
bool has_test(std::string_view name) { return tests().find(name) != tests().end(); }

value apply_filter(std::string_view name, const value& input, call_args& args, source_pos pos) {
  const auto it = filters().find(name);
  if (it == filters().end()) fail(errc::unsupported, pos, fmt::format("unknown filter '{}'", name));
  return it->second(input, args, pos);
}

bool apply_test(std::string_view name, const value& input, call_args& args, source_pos pos) {
  const auto it = tests().find(name);
  if (it == tests().end()) fail(errc::unsupported, pos, fmt::format("unknown test '{}'", name));
  return it->second(input, args, pos);
}

}  // namespace troupe::jinja
