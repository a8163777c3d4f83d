#include "engine/chat/text.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace troupe::jinja {

std::u32string decode_utf8(std::string_view s, source_pos pos) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int num_bytes = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
    if (num_bytes == 0 || i + static_cast<std::size_t>(num_bytes) > s.size()) {
      fail(errc::invalid_argument, pos, fmt::format("string is not valid UTF-8 (byte 0x{:02x} at offset {})", b0, i));
    }
    char32_t c = num_bytes == 1 ? b0 : b0 & (0x7f >> num_bytes);
    for (int k = 1; k < num_bytes; ++k) {
      const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((b & 0xc0) != 0x80) {
        fail(errc::invalid_argument, pos, fmt::format("string is not valid UTF-8 (offset {})", i));
      }
      c = (c << 6) | (b & 0x3f);
    }
    out.push_back(c);
    i += static_cast<std::size_t>(num_bytes);
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

bool is_python_space(char32_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
         c == 0x205f || c == 0x3000;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, strip_side side,
                  source_pos pos) {
  if (!chars) {
    // Fast path: when the first kept character on each stripped side is ASCII, bytes suffice.
    std::size_t begin = 0;
    std::size_t end = s.size();
    auto ascii_space = [](char c) { return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f); };
    if (side != strip_side::right) {
      while (begin < end && ascii_space(s[begin])) ++begin;
    }
    if (side != strip_side::left) {
      while (end > begin && ascii_space(s[end - 1])) --end;
    }
    const bool left_done = side == strip_side::right || begin == end || static_cast<unsigned char>(s[begin]) < 0x80;
    const bool right_done = side == strip_side::left || begin == end || static_cast<unsigned char>(s[end - 1]) < 0x80;
    if (left_done && right_done) return std::string(s.substr(begin, end - begin));
  }
  const std::u32string text = decode_utf8(s, pos);
  const std::u32string set = chars ? decode_utf8(*chars, pos) : std::u32string();
  auto strippable = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_python_space(c); };
  std::size_t begin = 0;
  std::size_t end = text.size();
  if (side != strip_side::right) {
    while (begin < end && strippable(text[begin])) ++begin;
  }
  if (side != strip_side::left) {
    while (end > begin && strippable(text[end - 1])) --end;
  }
  return encode_utf8(std::u32string_view(text).substr(begin, end - begin));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, long maxsplit,
                               source_pos pos) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) fail(errc::invalid_argument, pos, "str.split() separator is empty");
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<long>(parts.size()) < maxsplit) {
      const std::size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      parts.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.emplace_back(s.substr(start));
    return parts;
  }
  const std::u32string text = decode_utf8(s, pos);
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_python_space(text[i])) ++i;
    if (i == text.size()) break;
    if (maxsplit >= 0 && static_cast<long>(parts.size()) == maxsplit) {
      std::size_t end = text.size();
      while (end > i && is_python_space(text[end - 1])) --end;
      parts.push_back(encode_utf8(std::u32string_view(text).substr(i, end - i)));
      break;
    }
    std::size_t j = i;
    while (j < text.size() && !is_python_space(text[j])) ++j;
    parts.push_back(encode_utf8(std::u32string_view(text).substr(i, j - i)));
    i = j;
  }
  return parts;
}

std::string replace_all(std::string_view s, std::string_view old_text, std::string_view new_text,
                        long max_count) {
  std::string out;
  long num_done = 0;
  if (old_text.empty()) {
    // Python inserts new_text before every character and at the end.
    std::size_t i = 0;
    while (i <= s.size()) {
      if (max_count >= 0 && num_done >= max_count) break;
      out.append(new_text);
      ++num_done;
      if (i == s.size()) return out;
      std::size_t len = 1;
      while (i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xc0) == 0x80) ++len;
      out.append(s.substr(i, len));
      i += len;
    }
    out.append(s.substr(std::min(i, s.size())));
    return out;
  }
  std::size_t start = 0;
  while (max_count < 0 || num_done < max_count) {
    const std::size_t at = s.find(old_text, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(new_text);
    start = at + old_text.size();
    ++num_done;
  }
  out.append(s.substr(start));
  return out;
}

namespace {

// Simple one-to-one case pairs: returns the other case, or c itself when c has no case.
// `known` is false for letters outside the covered scripts.
struct case_info {
  char32_t upper;
  char32_t lower;
  bool known;
};

bool is_uncased_block(char32_t c) {
  return (c >= 0x00a0 && c <= 0x00bf && c != 0xb5) || c == 0xd7 || c == 0xf7 ||
         (c >= 0x0300 && c <= 0x036f && c != 0x345) || (c >= 0x0590 && c <= 0x0fff) ||
         (c >= 0x1100 && c <= 0x11ff) || (c >= 0x2000 && c <= 0x20cf) || (c >= 0x2190 && c <= 0x24b5) ||
         (c >= 0x24ea && c <= 0x2bff) || (c >= 0x2e00 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xfe6f) ||
         (c >= 0xff00 && c <= 0xff20) || (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xffff) ||
         (c >= 0x1f000 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3ffff) || (c >= 0xe0000 && c <= 0xe007f);
}

case_info classify(char32_t c) {
  if (c < 0x80) {
    if (c >= 'a' && c <= 'z') return {c - 0x20, c, true};
    if (c >= 'A' && c <= 'Z') return {c, c + 0x20, true};
    return {c, c, true};
  }
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return {c, c + 0x20, true};
  if (c >= 0xe0 && c <= 0xfe && c != 0xf7) return {c - 0x20, c, true};
  if (c == 0xdf) return {c, c, true};  // ß: upper() is "SS", handled by the callers
  if (c == 0xff) return {0x178, c, true};
  if (c == 0x178) return {c, 0xff, true};
  if (c == 0xb5) return {0x39c, c, true};
  const bool ext_a_even_upper = (c >= 0x100 && c <= 0x137 && c != 0x130 && c != 0x131) || (c >= 0x14a && c <= 0x177);
  const bool ext_a_odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
  if (ext_a_even_upper) return c % 2 == 0 ? case_info{c, c + 1, true} : case_info{c - 1, c, true};
  if (ext_a_odd_upper) return c % 2 == 1 ? case_info{c, c + 1, true} : case_info{c - 1, c, true};
  if (c == 0x138) return {c, c, true};
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return {c, c + 0x20, true};
  if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) return {c - 0x20, c, true};
  if (c == 0x3c2) return {0x3a3, c, true};
  if (c == 0x386) return {c, 0x3ac, true};
  if (c == 0x3ac) return {0x386, c, true};
  if (c >= 0x388 && c <= 0x38a) return {c, c + 0x25, true};
  if (c >= 0x3ad && c <= 0x3af) return {c - 0x25, c, true};
  if (c == 0x38c) return {c, 0x3cc, true};
  if (c == 0x3cc) return {0x38c, c, true};
  if (c == 0x38e || c == 0x38f) return {c, c + 0x3f, true};
  if (c == 0x3cd || c == 0x3ce) return {c - 0x3f, c, true};
  if (c >= 0x410 && c <= 0x42f) return {c, c + 0x20, true};
  if (c >= 0x430 && c <= 0x44f) return {c - 0x20, c, true};
  if (c >= 0x400 && c <= 0x40f) return {c, c + 0x50, true};
  if (c >= 0x450 && c <= 0x45f) return {c - 0x50, c, true};
  if (c >= 0xff21 && c <= 0xff3a) return {c, c + 0x20, true};
  if (c >= 0xff41 && c <= 0xff5a) return {c - 0x20, c, true};
  if (is_uncased_block(c)) return {c, c, true};
  return {c, c, false};
}

case_info classify_or_fail(char32_t c, source_pos pos) {
  const case_info info = classify(c);
  if (!info.known) {
    fail(errc::unsupported, pos, fmt::format("case mapping of U+{:04X} is not supported", static_cast<std::uint32_t>(c)));
  }
  return info;
}

bool is_cased(char32_t c, source_pos pos) {
  const case_info info = classify_or_fail(c, pos);
  return info.upper != info.lower || c == 0xdf;
}

void append_upper(std::string& out, char32_t c, source_pos pos) {
  if (c == 0xdf) {
    out += "SS";
    return;
  }
  append_utf8(out, classify_or_fail(c, pos).upper);
}

// Greek capital sigma lowercases to final sigma at the end of a word (Unicode Final_Sigma).
void append_lower(std::string& out, const std::u32string& text, std::size_t i, source_pos pos) {
  const char32_t c = text[i];
  if (c == 0x3a3) {
    const bool after_cased = i > 0 && is_cased(text[i - 1], pos);
    const bool before_cased = i + 1 < text.size() && is_cased(text[i + 1], pos);
    append_utf8(out, after_cased && !before_cased ? 0x3c2 : 0x3c3);
    return;
  }
  append_utf8(out, classify_or_fail(c, pos).lower);
}

}  // namespace

std::string to_upper(std::string_view s, source_pos pos) {
  std::string out;
  for (char32_t c : decode_utf8(s, pos)) append_upper(out, c, pos);
  return out;
}

std::string to_lower(std::string_view s, source_pos pos) {
  const std::u32string text = decode_utf8(s, pos);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) append_lower(out, text, i, pos);
  return out;
}

std::string to_title(std::string_view s, source_pos pos) {
  const std::u32string text = decode_utf8(s, pos);
  std::string out;
  bool previous_cased = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (previous_cased) {
      append_lower(out, text, i, pos);
    } else if (text[i] == 0xdf) {
      out += "Ss";
    } else {
      append_upper(out, text[i], pos);
    }
    previous_cased = is_cased(text[i], pos);
  }
  return out;
}

std::string capitalize(std::string_view s, source_pos pos) {
  const std::u32string text = decode_utf8(s, pos);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 0) {
      if (text[i] == 0xdf) {
        out += "Ss";
      } else {
        append_upper(out, text[i], pos);
      }
    } else {
      append_lower(out, text, i, pos);
    }
  }
  return out;
}

std::string python_string_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  std::u32string text;
  try {
    text = decode_utf8(s, {});
  } catch (const template_error&) {
    for (unsigned char b : s) text.push_back(b);  // repr of a broken string: bytes as code points
  }
  for (char32_t c : text) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) {
      out += fmt::format("\\x{:02x}", static_cast<std::uint32_t>(c));
    } else if ((c != ' ' && is_python_space(c)) || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
               (c >= 0x2060 && c <= 0x2064) || c == 0xfeff || (c >= 0xd800 && c <= 0xdfff)) {
      out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(c));
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace troupe::jinja
