// Attribute and item lookup, slicing, iteration and the str/dict methods templates call,
// following jinja2's sandboxed getattr/getitem (a failed lookup is Undefined, not an error).
#include <algorithm>

#include <fmt/format.h>

#include "engine/chat/builtins.hpp"
#include "engine/chat/text.hpp"

namespace troupe::jinja {
namespace {

[[noreturn]] void fail_undefined(const value& v, source_pos pos) {
  fail(errc::invalid_argument, pos, fmt::format("{} is undefined", v.as_undefined().name));
}

std::string require_string(const std::optional<value>& v, std::string_view function, std::string_view param, source_pos pos) {
  if (!v || !v->is_string()) {
    fail(errc::invalid_argument, pos,
         fmt::format("{}() argument '{}' must be str, not {}", function, param, v ? type_name(*v) : "missing"));
  }
  return v->as_string();
}

std::optional<std::string> optional_string(const std::optional<value>& v, std::string_view function,
                                           std::string_view param, source_pos pos) {
  if (!v || v->is_none()) return std::nullopt;
  return require_string(v, function, param, pos);
}

long optional_long(const std::optional<value>& v, long fallback, std::string_view function, source_pos pos) {
  if (!v || v->is_none()) return fallback;
  if (!v->is_int() && !v->is_bool()) fail(errc::invalid_argument, pos, fmt::format("{}() expects an integer count", function));
  return static_cast<long>(v->as_int());
}

// str.startswith / str.endswith with a str or a tuple of str.
value affix_method(const std::string& s, const call_args& args, bool prefix, source_pos pos) {
  const char* function = prefix ? "str.startswith" : "str.endswith";
  auto bound = bind_args(args, {"affix"}, function, pos);
  if (!bound[0]) fail(errc::invalid_argument, pos, fmt::format("{}() takes one argument", function));
  auto matches = [&](const value& affix) {
    if (!affix.is_string()) fail(errc::invalid_argument, pos, fmt::format("{}() arguments must be str", function));
    const std::string& a = affix.as_string();
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (bound[0]->is_list()) {
    const list& options = bound[0]->as_list();
    return std::any_of(options.begin(), options.end(), matches);
  }
  return matches(*bound[0]);
}

std::int64_t code_point_index(const std::string& s, std::size_t byte_index) {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < byte_index; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) ++n;
  }
  return n;
}

value call_string_method(const std::string& s, std::string_view name, const call_args& args, source_pos pos) {
  const std::string function = fmt::format("str.{}", name);
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    auto bound = bind_args(args, {"chars"}, function, pos);
    const strip_side side = name == "strip" ? strip_side::both : name == "lstrip" ? strip_side::left : strip_side::right;
    return strip(s, optional_string(bound[0], function, "chars", pos), side, pos);
  }
  if (name == "startswith" || name == "endswith") return affix_method(s, args, name == "startswith", pos);
  if (name == "split") {
    auto bound = bind_args(args, {"sep", "maxsplit"}, function, pos);
    list parts;
    for (auto& part : split(s, optional_string(bound[0], function, "sep", pos), optional_long(bound[1], -1, function, pos), pos)) {
      parts.emplace_back(std::move(part));
    }
    return parts;
  }
  if (name == "replace") {
    auto bound = bind_args(args, {"old", "new", "count"}, function, pos);
    return replace_all(s, require_string(bound[0], function, "old", pos), require_string(bound[1], function, "new", pos),
                       optional_long(bound[2], -1, function, pos));
  }
  if (name == "find" || name == "count") {
    auto bound = bind_args(args, {"sub"}, function, pos);
    const std::string sub = require_string(bound[0], function, "sub", pos);
    if (name == "find") {
      const std::size_t at = s.find(sub);
      return at == std::string::npos ? std::int64_t{-1} : code_point_index(s, at);
    }
    if (sub.empty()) return code_point_index(s, s.size()) + 1;
    std::int64_t n = 0;
    for (std::size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
    return n;
  }
  if (name == "join") {
    auto bound = bind_args(args, {"iterable"}, function, pos);
    if (!bound[0]) fail(errc::invalid_argument, pos, "str.join() takes one argument");
    std::string out;
    bool first = true;
    for (const value& item : iterate(*bound[0], pos)) {
      if (!item.is_string()) fail(errc::invalid_argument, pos, fmt::format("str.join() expected str items, found {}", type_name(item)));
      if (!first) out += s;
      out += item.as_string();
      first = false;
    }
    return out;
  }
  bind_args(args, {}, function, pos);
  if (name == "upper") return to_upper(s, pos);
  if (name == "lower") return to_lower(s, pos);
  if (name == "title") return to_title(s, pos);
  if (name == "capitalize") return capitalize(s, pos);
  fail(errc::internal, pos, fmt::format("no str method {}", name));
}

constexpr std::string_view string_methods[] = {"strip", "lstrip", "rstrip", "startswith", "endswith", "split", "replace",
                                               "find", "count", "join", "upper", "lower", "title", "capitalize"};

value call_dict_method(const value& self, std::string_view name, const call_args& args, source_pos pos) {
  const dict& d = self.as_dict();
  const std::string function = fmt::format("dict.{}", name);
  if (name == "get") {
    auto bound = bind_args(args, {"key", "default"}, function, pos);
    if (!bound[0]) fail(errc::invalid_argument, pos, "dict.get() takes at least one argument");
    const value* found = bound[0]->is_string() ? d.find(bound[0]->as_string()) : nullptr;
    if (found != nullptr) return *found;
    return bound[1] ? *bound[1] : value(none_type{});
  }
  bind_args(args, {}, function, pos);
  if (name == "copy") return self;
  list out;
  for (const auto& [key, item] : d.items) {
    if (name == "keys") {
      out.emplace_back(key);
    } else if (name == "values") {
      out.push_back(item);
    } else {
      out.push_back(value::tuple(list{value(key), item}));
    }
  }
  return out;
}

constexpr std::string_view dict_methods[] = {"get", "items", "keys", "values", "copy"};
constexpr std::string_view mutating_dict_methods[] = {"update", "pop", "popitem", "setdefault", "clear"};
constexpr std::string_view mutating_list_methods[] = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear"};

template <std::size_t N>
bool one_of(std::string_view name, const std::string_view (&names)[N]) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

value forbidden_method(std::string_view type, std::string_view name) {
  return callable{fmt::format("{}.{}", type, name), [type = std::string(type), name = std::string(name)](call_args&, source_pos pos) -> value {
                    fail(errc::unsupported, pos,
                         fmt::format("{}.{}() modifies its object, which the sandboxed chat template environment forbids", type, name));
                  }};
}

std::int64_t normalize_slice_bound(const value& v, std::int64_t n, bool forward, bool is_start, source_pos pos) {
  if (v.is_none() || v.is_undefined()) {
    if (forward) return is_start ? 0 : n;
    return is_start ? n - 1 : -1;
  }
  if (!v.is_int() && !v.is_bool()) fail(errc::invalid_argument, pos, "slice indices must be integers or None");
  std::int64_t i = v.as_int();
  if (i < 0) i += n;
  if (forward) return std::clamp<std::int64_t>(i, 0, n);
  return std::clamp<std::int64_t>(i, -1, n - 1);
}

}  // namespace

std::vector<std::optional<value>> bind_args(const call_args& args, std::initializer_list<std::string_view> names,
                                            std::string_view function, source_pos pos) {
  std::vector<std::optional<value>> bound(names.size());
  if (args.positional.size() > names.size()) {
    fail(errc::invalid_argument, pos,
         fmt::format("{}() takes at most {} arguments ({} given)", function, names.size(), args.positional.size()));
  }
  for (std::size_t i = 0; i < args.positional.size(); ++i) bound[i] = args.positional[i];
  for (const auto& [key, v] : args.named) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) fail(errc::invalid_argument, pos, fmt::format("{}() got an unexpected keyword argument '{}'", function, key));
    bound[static_cast<std::size_t>(it - names.begin())] = v;
  }
  return bound;
}

value get_attribute(const value& obj, std::string_view name, source_pos pos) {
  if (obj.is_undefined()) fail_undefined(obj, pos);
  if (obj.is_string() && one_of(name, string_methods)) {
    return callable{fmt::format("str.{}", name), [s = obj.as_string(), n = std::string(name)](call_args& args, source_pos p) {
                      return call_string_method(s, n, args, p);
                    }};
  }
  if (obj.is_dict()) {
    if (one_of(name, dict_methods)) {
      return callable{fmt::format("dict.{}", name), [obj, n = std::string(name)](call_args& args, source_pos p) {
                        return call_dict_method(obj, n, args, p);
                      }};
    }
    if (one_of(name, mutating_dict_methods)) return forbidden_method("dict", name);
    if (const value* found = obj.as_dict().find(name)) return *found;
    return undefined{fmt::format("'dict object' has no attribute '{}', so it", name)};
  }
  if (obj.is_list() && one_of(name, mutating_list_methods)) return forbidden_method("list", name);
  if (obj.is_namespace()) {
    if (const value* found = obj.as_namespace().attributes.find(name)) return *found;
  }
  return undefined{fmt::format("'{} object' has no attribute '{}', so it", type_name(obj), name)};
}

value get_item(const value& obj, const value& key, source_pos pos) {
  if (obj.is_undefined()) fail_undefined(obj, pos);
  if (obj.is_dict() || obj.is_namespace()) {
    const dict& d = obj.is_dict() ? obj.as_dict() : obj.as_namespace().attributes;
    if (key.is_string()) {
      if (const value* found = d.find(key.as_string())) return *found;
    }
    return undefined{fmt::format("'{} object' has no attribute {}, so it", type_name(obj), to_repr(key))};
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    if (obj.is_list()) {
      const auto n = static_cast<std::int64_t>(obj.as_list().size());
      const std::int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
      if (i >= 0 && i < n) return obj.as_list()[static_cast<std::size_t>(i)];
    } else {
      const std::u32string text = decode_utf8(obj.as_string(), pos);
      const auto n = static_cast<std::int64_t>(text.size());
      const std::int64_t i = key.as_int() < 0 ? key.as_int() + n : key.as_int();
      if (i >= 0 && i < n) return encode_utf8(std::u32string(1, text[static_cast<std::size_t>(i)]));
    }
    return undefined{fmt::format("{} index {} is out of range, so it", type_name(obj), key.as_int())};
  }
  if (key.is_string()) return get_attribute(obj, key.as_string(), pos);
  return undefined{fmt::format("'{} object' has no item {}, so it", type_name(obj), to_repr(key))};
}

value get_slice(const value& obj, const value& start, const value& stop, const value& step, source_pos pos) {
  if (obj.is_undefined()) fail_undefined(obj, pos);
  if (!obj.is_list() && !obj.is_string()) return undefined{fmt::format("a slice of a {}", type_name(obj))};
  std::int64_t stride = 1;
  if (!step.is_none() && !step.is_undefined()) {
    if (!step.is_int()) fail(errc::invalid_argument, pos, "slice step must be an integer");
    stride = step.as_int();
    if (stride == 0) fail(errc::invalid_argument, pos, "slice step cannot be zero");
  }
  const std::u32string text = obj.is_string() ? decode_utf8(obj.as_string(), pos) : std::u32string();
  const auto n = static_cast<std::int64_t>(obj.is_string() ? text.size() : obj.as_list().size());
  const bool forward = stride > 0;
  const std::int64_t first = normalize_slice_bound(start, n, forward, true, pos);
  const std::int64_t last = normalize_slice_bound(stop, n, forward, false, pos);
  std::u32string text_out;
  list list_out;
  for (std::int64_t i = first; forward ? i < last : i > last; i += stride) {
    if (obj.is_string()) {
      text_out.push_back(text[static_cast<std::size_t>(i)]);
    } else {
      list_out.push_back(obj.as_list()[static_cast<std::size_t>(i)]);
    }
  }
  if (obj.is_string()) return encode_utf8(text_out);
  return list_out;
}

list iterate(const value& v, source_pos pos) {
  if (v.is_undefined()) return {};
  if (v.is_list()) return v.as_list();
  if (v.is_dict()) {
    list keys;
    for (const auto& entry : v.as_dict().items) keys.emplace_back(entry.first);
    return keys;
  }
  if (v.is_string()) {
    list chars;
    for (char32_t c : decode_utf8(v.as_string(), pos)) chars.emplace_back(encode_utf8(std::u32string(1, c)));
    return chars;
  }
  fail(errc::invalid_argument, pos, fmt::format("'{}' object is not iterable", type_name(v)));
}

std::int64_t length_of(const value& v, source_pos pos) {
  if (v.is_undefined()) return 0;
  if (v.is_string()) return static_cast<std::int64_t>(decode_utf8(v.as_string(), pos).size());
  if (v.is_list()) return static_cast<std::int64_t>(v.as_list().size());
  if (v.is_dict()) return static_cast<std::int64_t>(v.as_dict().items.size());
  fail(errc::invalid_argument, pos, fmt::format("object of type '{}' has no len()", type_name(v)));
}

bool contains(const value& haystack, const value& needle, source_pos pos) {
  if (haystack.is_string()) {
    if (!needle.is_string()) {
      fail(errc::invalid_argument, pos, fmt::format("'in <string>' requires string as left operand, not {}", type_name(needle)));
    }
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_dict()) return needle.is_string() && haystack.as_dict().find(needle.as_string()) != nullptr;
  if (haystack.is_list()) {
    const list& items = haystack.as_list();
    return std::any_of(items.begin(), items.end(), [&](const value& item) { return equals(item, needle); });
  }
  if (haystack.is_undefined()) return false;
  fail(errc::invalid_argument, pos, fmt::format("argument of type '{}' is not iterable", type_name(haystack)));
}

}  // namespace troupe::jinja
