// The syntax tree of a parsed chat template: expressions and statements, each with the source
// position that render errors name. Nodes own their children (unique_ptr / vectors).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/value.hpp"

namespace troupe::jinja {

enum class expr_kind {
  literal,      // `literal`
  name,         // variable `name`
  list,         // [args...]
  tuple,        // (args...) -- a list at run time
  dict,         // {args[0]: args[1], args[2]: args[3], ...}
  attribute,    // args[0].name
  subscript,    // args[0][args[1]]
  slice,        // args[0][args[1]:args[2]:args[3]]; absent bounds are null
  call,         // args[0](args[1...], kwargs)
  filter,       // args[0] | name(args[1...], kwargs); args[0] is null inside {% set x | f %}
  test,         // args[0] is [not] name(args[1...]); `negated` for `is not`
  negate,       // -args[0]
  plus,         // +args[0]
  logical_not,  // not args[0]
  binary,       // args[0] <name> args[1]: + - * / // % ** ~ and or
  compare,      // args[0] ops[0] args[1] ops[1] args[2] ...: == != < <= > >= in, "not in"
  conditional,  // args[0] if args[1] else args[2]; args[2] is null without else
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct expr {
  expr_kind kind = expr_kind::literal;
  source_pos pos;
  std::string name;
  value literal;
  std::vector<expr_ptr> args;
  std::vector<std::pair<std::string, expr_ptr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

enum class stmt_kind {
  text,          // emits `text`
  output,        // {{ value }}
  if_block,      // {% if value %} body {% else %} else_body; elif nests an if_block in else_body
  for_block,     // {% for targets in value if condition %} body {% else %} else_body
  set,           // {% set targets = value %} or {% set targets[0].attribute = value %}
  set_block,     // {% set targets[0] | filters %} body {% endset %}
  filter_block,  // {% filter filters %} body {% endfilter %}
  macro,         // {% macro text(targets = defaults) %} body
  break_loop,
  continue_loop,
};

struct stmt {
  stmt_kind kind = stmt_kind::text;
  source_pos pos;
  std::string text;                  // text, or the macro's name
  std::vector<std::string> targets;  // loop/set names, or macro parameters
  std::string attribute;             // set ns.attribute
  expr_ptr value;
  expr_ptr condition;                // for-loop filter
  std::vector<expr_ptr> defaults;    // macro parameter defaults (null when none)
  std::vector<expr_ptr> filters;     // filter nodes with a null input, applied in order
  std::vector<stmt> body;
  std::vector<stmt> else_body;
};

// Parses tokens into statements. Fails naming line:column on syntax errors, unknown or unclosed
// tags, and unknown filters or tests (as jinja2 does when it compiles a template).
std::vector<stmt> parse_template(std::string_view source);

}  // namespace troupe::jinja
