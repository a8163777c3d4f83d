#include "engine/chat/lexer.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "engine/chat/text.hpp"

namespace troupe::jinja {
namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Newlines normalized to '\n' and one trailing newline dropped (keep_trailing_newline=False).
std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class lexer {
 public:
  explicit lexer(std::string source) : src_(std::move(source)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<token> run() {
    std::size_t pos = 0;
    while (pos < src_.size()) {
      const std::size_t at = find_tag(pos);
      if (at == std::string::npos) {
        emit_text(src_.substr(pos), pos);
        break;
      }
      pos = lex_tag(pos, at);
    }
    tokens_.push_back(token{token_kind::end_of_input, "", 0, 0.0, position(src_.size())});
    return std::move(tokens_);
  }

 private:
  source_pos position(std::size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const auto line = static_cast<std::size_t>(it - line_starts_.begin());
    return source_pos{static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void emit_text(std::string text, std::size_t offset) {
    if (!text.empty()) tokens_.push_back(token{token_kind::text, std::move(text), 0, 0.0, position(offset)});
  }

  // Lexes the text before the tag at `at` and the tag itself; returns the offset after the tag.
  std::size_t lex_tag(std::size_t text_begin, std::size_t at) {
    std::string text = src_.substr(text_begin, at - text_begin);
    const char opener = src_[at + 1];
    std::size_t p = at + 2;
    const char sign = p < src_.size() ? src_[p] : '\0';
    if (sign == '-') {
      while (!text.empty() && is_ascii_space(text.back())) text.pop_back();
      ++p;
    } else if (sign == '+') {
      ++p;
    } else if (opener != '{') {
      lstrip_line(text, text_begin == 0 || src_[text_begin - 1] == '\n');
    }
    emit_text(std::move(text), text_begin);
    if (opener == '#') return lex_comment(at, p);
    const bool is_block = opener == '%';
    if (is_block) check_not_raw(p, at);
    tokens_.push_back(token{is_block ? token_kind::block_begin : token_kind::variable_begin, "", 0, 0.0, position(at)});
    return lex_expression(p, is_block, at);
  }

  // lstrip_blocks: spaces and tabs between the start of a line and a block or comment tag go.
  static void lstrip_line(std::string& text, bool line_starting) {
    const std::size_t newline = text.rfind('\n');
    const std::size_t line_begin = newline == std::string::npos ? 0 : newline + 1;
    if (line_begin == 0 && !line_starting) return;
    if (line_begin == text.size()) return;
    for (std::size_t i = line_begin; i < text.size(); ++i) {
      if (!is_ascii_space(text[i])) return;
    }
    text.resize(line_begin);
  }

  std::size_t skip_after_tag(std::size_t p, char marker) const {
    if (marker == '-') {
      while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    } else if (marker != '+' && p < src_.size() && src_[p] == '\n') {
      ++p;  // trim_blocks
    }
    return p;
  }

  std::size_t lex_comment(std::size_t at, std::size_t p) {
    const std::size_t end = src_.find("#}", p);
    if (end == std::string::npos) fail(errc::parse_error, position(at), "unclosed comment: missing '#}'");
    const char marker = end > p ? src_[end - 1] : '\0';
    return skip_after_tag(end + 2, marker);
  }

  void check_not_raw(std::size_t p, std::size_t at) const {
    while (p < src_.size() && is_ascii_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") == 0 && (p + 3 >= src_.size() || !std::isalnum(static_cast<unsigned char>(src_[p + 3])))) {
      fail(errc::unsupported, position(at), "the {% raw %} tag is not supported");
    }
  }

  // Like jinja2, a closing '}}' or '%}' only ends the tag while brackets are balanced, so
  // {{ {"a": {"b": 1}} }} is one expression.
  std::size_t lex_expression(std::size_t p, bool is_block, std::size_t at) {
    const std::string_view close = is_block ? "%}" : "}}";
    std::string open_brackets;
    while (true) {
      while (p < src_.size() && is_ascii_space(src_[p])) ++p;
      if (p >= src_.size()) {
        fail(errc::parse_error, position(at), fmt::format("unclosed tag: missing '{}'", close));
      }
      const char marker = src_[p];
      if (!open_brackets.empty()) {
        p = lex_token(p);
        track_brackets(open_brackets);
        continue;
      }
      if ((marker == '-' || (is_block && marker == '+')) && src_.compare(p + 1, 2, close) == 0) {
        tokens_.push_back(token{is_block ? token_kind::block_end : token_kind::variable_end, "", 0, 0.0, position(p)});
        return skip_after_tag(p + 3, is_block ? marker : '-');
      }
      if (src_.compare(p, 2, close) == 0) {
        tokens_.push_back(token{is_block ? token_kind::block_end : token_kind::variable_end, "", 0, 0.0, position(p)});
        return is_block ? skip_after_tag(p + 2, '\0') : p + 2;
      }
      p = lex_token(p);
      track_brackets(open_brackets);
    }
  }

  void track_brackets(std::string& open_brackets) const {
    const token& t = tokens_.back();
    if (t.kind != token_kind::op || t.text.size() != 1) return;
    const char c = t.text[0];
    if (c == '(' || c == '[' || c == '{') {
      open_brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (open_brackets.empty() || open_brackets.back() != c) {
        fail(errc::parse_error, t.pos,
             open_brackets.empty() ? fmt::format("unexpected '{}'", c) : fmt::format("unexpected '{}', expected '{}'", c, open_brackets.back()));
      }
      open_brackets.pop_back();
    }
  }

  std::size_t lex_token(std::size_t p) {
    const char c = src_[p];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t end = p;
      while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) ++end;
      tokens_.push_back(token{token_kind::name, src_.substr(p, end - p), 0, 0.0, position(p)});
      return end;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static constexpr std::array<std::string_view, 6> two_char = {"//", "**", "==", "!=", ">=", "<="};
    for (std::string_view op : two_char) {
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back(token{token_kind::op, std::string(op), 0, 0.0, position(p)});
        return p + 2;
      }
    }
    if (std::string_view("+-/*%~[](){}<>=.:|,").find(c) != std::string_view::npos) {
      tokens_.push_back(token{token_kind::op, std::string(1, c), 0, 0.0, position(p)});
      return p + 1;
    }
    fail(errc::parse_error, position(p), fmt::format("unexpected character '{}' in tag", c));
  }

  std::size_t scan_digits(std::size_t p, std::string& digits) const {
    while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                               (src_[p] == '_' && p + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p + 1]))))) {
      if (src_[p] != '_') digits.push_back(src_[p]);
      ++p;
    }
    return p;
  }

  std::size_t lex_number(std::size_t start) {
    std::string digits;
    std::size_t p = scan_digits(start, digits);
    bool is_float = false;
    const bool after_dot = start > 0 && src_[start - 1] == '.';  // foo.0.1 is two attribute lookups
    if (!after_dot && p + 1 < src_.size() && src_[p] == '.' && std::isdigit(static_cast<unsigned char>(src_[p + 1]))) {
      digits.push_back('.');
      p = scan_digits(p + 1, digits);
      is_float = true;
    }
    if (!after_dot && p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      std::size_t q = p + 1;
      std::string exponent = "e";
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) exponent.push_back(src_[q++]);
      if (q < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q]))) {
        p = scan_digits(q, exponent);
        digits += exponent;
        is_float = true;
      }
    }
    token t{is_float ? token_kind::floating : token_kind::integer, digits, 0, 0.0, position(start)};
    try {
      if (is_float) {
        t.float_value = std::stod(digits);
      } else {
        t.int_value = std::stoll(digits);
      }
    } catch (const std::exception&) {
      fail(errc::unsupported, position(start), fmt::format("number literal {} is out of range", digits));
    }
    tokens_.push_back(std::move(t));
    return p;
  }

  // Python's unicode-escape decoding, as jinja2 applies it to string literals.
  std::size_t lex_string(std::size_t start) {
    const char quote = src_[start];
    std::string out;
    std::size_t p = start + 1;
    while (true) {
      if (p >= src_.size()) fail(errc::parse_error, position(start), "unterminated string literal");
      const char c = src_[p];
      if (c == quote) break;
      if (c != '\\' || p + 1 >= src_.size()) {
        out.push_back(c);
        ++p;
        continue;
      }
      p = decode_escape(p, out);
    }
    tokens_.push_back(token{token_kind::string, std::move(out), 0, 0.0, position(start)});
    return p + 1;
  }

  std::size_t decode_escape(std::size_t p, std::string& out) const {
    const char e = src_[p + 1];
    switch (e) {
      case 'n': out.push_back('\n'); return p + 2;
      case 't': out.push_back('\t'); return p + 2;
      case 'r': out.push_back('\r'); return p + 2;
      case 'b': out.push_back('\b'); return p + 2;
      case 'f': out.push_back('\f'); return p + 2;
      case 'v': out.push_back('\v'); return p + 2;
      case 'a': out.push_back('\a'); return p + 2;
      case '\\': case '\'': case '"': out.push_back(e); return p + 2;
      case '\n': return p + 2;  // line continuation
      default: break;
    }
    if (e >= '0' && e <= '7') {
      std::size_t q = p + 1;
      unsigned code = 0;
      for (int i = 0; i < 3 && q < src_.size() && src_[q] >= '0' && src_[q] <= '7'; ++i, ++q) code = code * 8 + static_cast<unsigned>(src_[q] - '0');
      append_utf8(out, code);
      return q;
    }
    const int num_hex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (num_hex == 0) {
      out.push_back('\\');  // unknown escapes stay as written
      return p + 1;
    }
    char32_t code = 0;
    for (int i = 0; i < num_hex; ++i) {
      const std::size_t q = p + 2 + static_cast<std::size_t>(i);
      if (q >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[q]))) {
        fail(errc::parse_error, position(p), fmt::format("truncated \\{} escape in string literal", e));
      }
      code = code * 16 + static_cast<char32_t>(std::stoi(std::string(1, src_[q]), nullptr, 16));
    }
    append_utf8(out, code);
    return p + 2 + static_cast<std::size_t>(num_hex);
  }

  std::string src_;
  std::vector<std::size_t> line_starts_;
  std::vector<token> tokens_;
};

}  // namespace

std::vector<token> tokenize(std::string_view source) { return lexer(normalize_source(source)).run(); }

}  // namespace troupe::jinja
