// Python str semantics over UTF-8 std::string: code points, whitespace, strip/split and case
// mapping, as the chat-template filters and string methods need them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/value.hpp"

namespace troupe::jinja {

// Decodes UTF-8; fails (naming pos) on malformed bytes rather than guessing.
std::u32string decode_utf8(std::string_view s, source_pos pos);
void append_utf8(std::string& out, char32_t c);
std::string encode_utf8(std::u32string_view s);

bool is_python_space(char32_t c);  // str.isspace()

enum class strip_side { left, right, both };
// str.strip/lstrip/rstrip: removes whitespace, or any of `chars` when given.
std::string strip(std::string_view s, const std::optional<std::string>& chars, strip_side side,
                  source_pos pos);

// str.split(sep, maxsplit): sep absent splits on runs of whitespace and drops empty parts;
// maxsplit < 0 means no limit. An empty sep fails like Python's ValueError.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               long maxsplit, source_pos pos);

std::string replace_all(std::string_view s, std::string_view old_text, std::string_view new_text,
                        long max_count);

// str.upper/lower/title/capitalize. Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek
// and Cyrillic, and passes through scripts without case (CJK, kana, Hangul, Arabic, Hebrew,
// Indic, punctuation, symbols, emoji). Any other letter fails as unsupported instead of being
// mapped wrongly.
std::string to_upper(std::string_view s, source_pos pos);
std::string to_lower(std::string_view s, source_pos pos);
std::string to_title(std::string_view s, source_pos pos);
std::string capitalize(std::string_view s, source_pos pos);

std::string python_string_repr(std::string_view s);  // repr(str): 'it', "it's"

}  // namespace troupe::jinja
