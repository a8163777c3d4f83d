// Splits a jinja2 template into tokens the way jinja2's lexer does under transformers' settings:
// trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, '\r\n' and '\r' read as '\n'.
// Whitespace control ({%- -%}, {{- -}}, {#- -#}, {%+ +%}) is applied here, so text tokens already
// hold exactly the characters the template outputs. Comments produce no tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/value.hpp"

namespace troupe::jinja {

enum class token_kind {
  text,            // template data between tags
  variable_begin,  // {{
  variable_end,    // }}
  block_begin,     // {%
  block_end,       // %}
  name,            // identifiers and keywords (if, for, and, not, true, ...)
  string,          // a string literal, escapes decoded
  integer,
  floating,
  op,              // + - * / // % ** ~ == != < <= > >= = . : | , ( ) [ ] { }
  end_of_input,
};

struct token {
  token_kind kind = token_kind::end_of_input;
  std::string text;  // text, name, decoded string literal or operator
  std::int64_t int_value = 0;
  double float_value = 0.0;
  source_pos pos;
};

// Throws template_error (naming line:column) on an unterminated tag, comment or string, or a
// character that starts no token.
std::vector<token> tokenize(std::string_view source);

}  // namespace troupe::jinja
