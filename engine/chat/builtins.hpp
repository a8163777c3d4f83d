// jinja2's built-in filters and tests, attribute/item lookup (including str and dict methods)
// and the iteration rules, over jinja::value. All fail with template_error naming `pos`.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/chat/value.hpp"

namespace troupe::jinja {

// Binds call arguments to parameters `names` (positional first, then by keyword) like a Python
// signature; absent ones are nullopt. Fails on extra positional or unknown keyword arguments.
std::vector<std::optional<value>> bind_args(const call_args& args, std::initializer_list<std::string_view> names,
                                            std::string_view function, source_pos pos);

bool has_filter(std::string_view name);
bool has_test(std::string_view name);

value apply_filter(std::string_view name, const value& input, call_args& args, source_pos pos);
bool apply_test(std::string_view name, const value& input, call_args& args, source_pos pos);

// obj.name: str/dict methods first (as Python's getattr finds them), then dict keys and
// namespace attributes; anything missing is Undefined. Fails on an Undefined obj.
value get_attribute(const value& obj, std::string_view name, source_pos pos);
// obj[key]: list index (negative counts from the end), dict key, str character; missing is
// Undefined. Fails on an Undefined obj.
value get_item(const value& obj, const value& key, source_pos pos);
// obj[start:stop:step] on lists and strings; bounds may be None.
value get_slice(const value& obj, const value& start, const value& stop, const value& step, source_pos pos);

// The items a for loop or filter visits: list items, dict keys, str characters; Undefined is
// empty. Fails on values Python cannot iterate.
list iterate(const value& v, source_pos pos);

// Python len(); Undefined has length 0.
std::int64_t length_of(const value& v, source_pos pos);

// `needle in haystack` with Python's rules (substring, list membership, dict key).
bool contains(const value& haystack, const value& needle, source_pos pos);

}  // namespace troupe::jinja
