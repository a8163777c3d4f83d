// Recursive-descent parser mirroring jinja2's Parser: the same operator precedence
// (conditional < or < and < not < compare < + - < ~ < * / // % < ** < unary < postfix/filters).
#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

#include "engine/chat/ast.hpp"
#include "engine/chat/builtins.hpp"
#include "engine/chat/lexer.hpp"

namespace troupe::jinja {
namespace {

expr_ptr make_expr(expr_kind kind, source_pos pos, std::string name = {}) {
  auto e = std::make_unique<expr>();
  e->kind = kind;
  e->pos = pos;
  e->name = std::move(name);
  return e;
}

class parser {
 public:
  explicit parser(std::vector<token> tokens) : tokens_(std::move(tokens)) {}

  std::vector<stmt> parse_all() { return parse_statements({}, "", {}); }

 private:
  const token& current() const { return tokens_[index_]; }
  const token& peek(std::size_t ahead = 1) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const token& advance() { return tokens_[index_ < tokens_.size() - 1 ? index_++ : index_]; }

  bool at_op(std::string_view op) const { return current().kind == token_kind::op && current().text == op; }
  bool at_name(std::string_view name) const { return current().kind == token_kind::name && current().text == name; }

  [[noreturn]] void fail_here(std::string_view message) const { fail(errc::parse_error, current().pos, message); }

  std::string describe_current() const {
    switch (current().kind) {
      case token_kind::end_of_input: return "end of template";
      case token_kind::block_end: return "'%}'";
      case token_kind::variable_end: return "'}}'";
      case token_kind::string: return fmt::format("string '{}'", current().text);
      default: return fmt::format("'{}'", current().text);
    }
  }

  void expect_op(std::string_view op) {
    if (!at_op(op)) fail_here(fmt::format("expected '{}', found {}", op, describe_current()));
    advance();
  }

  std::string expect_name() {
    if (current().kind != token_kind::name) fail_here(fmt::format("expected a name, found {}", describe_current()));
    return advance().text;
  }

  void expect_block_end() {
    if (current().kind != token_kind::block_end) fail_here(fmt::format("expected '%}}', found {}", describe_current()));
    advance();
  }

  // Statements up to a {% tag %} whose name is in `end_names` (left unconsumed, positioned at the
  // name) or the end of input, which is an error inside a block.
  std::vector<stmt> parse_statements(std::initializer_list<std::string_view> end_names, std::string_view opener,
                                     source_pos opened_at) {
    std::vector<stmt> body;
    while (true) {
      const token& t = current();
      if (t.kind == token_kind::end_of_input) {
        if (end_names.size() == 0) return body;
        fail(errc::parse_error, opened_at,
             fmt::format("unclosed {{% {} %}}: reached the end of the template looking for {{% {} %}}", opener,
                         *(end_names.end() - 1)));
      }
      if (t.kind == token_kind::text) {
        stmt s;
        s.kind = stmt_kind::text;
        s.pos = t.pos;
        s.text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.kind == token_kind::variable_begin) {
        advance();
        stmt s;
        s.kind = stmt_kind::output;
        s.pos = current().pos;
        s.value = parse_expression();
        if (current().kind != token_kind::variable_end) fail_here(fmt::format("expected '}}}}', found {}", describe_current()));
        advance();
        body.push_back(std::move(s));
      } else {
        advance();  // block_begin
        if (current().kind == token_kind::name &&
            std::find(end_names.begin(), end_names.end(), current().text) != end_names.end()) {
          return body;
        }
        body.push_back(parse_tag());
      }
    }
  }

  stmt parse_tag() {
    const token& t = current();
    if (t.kind != token_kind::name) fail_here(fmt::format("expected a tag name, found {}", describe_current()));
    const std::string name = t.text;
    const source_pos pos = t.pos;
    advance();
    stmt s;
    s.pos = pos;
    if (name == "if") return parse_if(std::move(s), "if");
    if (name == "for") return parse_for(std::move(s));
    if (name == "set") return parse_set(std::move(s));
    if (name == "macro") return parse_macro(std::move(s));
    if (name == "filter") return parse_filter_block(std::move(s));
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(errc::parse_error, pos, fmt::format("{{% {} %}} outside of a for loop", name));
      s.kind = name == "break" ? stmt_kind::break_loop : stmt_kind::continue_loop;
      expect_block_end();
      return s;
    }
    static constexpr std::string_view jinja_tags[] = {"block", "extends", "include", "import", "from", "call",
                                                       "with", "autoescape", "trans", "generation"};
    if (std::find(std::begin(jinja_tags), std::end(jinja_tags), name) != std::end(jinja_tags)) {
      fail(errc::unsupported, pos, fmt::format("the {{% {} %}} tag is not supported", name));
    }
    fail(errc::parse_error, pos, fmt::format("unknown tag '{}'", name));
  }

  stmt parse_if(stmt s, std::string_view opener) {
    s.kind = stmt_kind::if_block;
    s.value = parse_expression();
    expect_block_end();
    s.body = parse_statements({"elif", "else", "endif"}, opener, s.pos);
    const token& end = current();
    const std::string end_name = end.text;
    advance();
    if (end_name == "elif") {
      stmt nested;
      nested.pos = end.pos;
      s.else_body.push_back(parse_if(std::move(nested), "elif"));
      return s;  // the nested if consumed {% endif %}
    }
    if (end_name == "else") {
      expect_block_end();
      s.else_body = parse_statements({"endif"}, opener, s.pos);
      advance();
    }
    expect_block_end();
    return s;
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> targets{expect_name()};
    while (at_op(",")) {
      advance();
      targets.push_back(expect_name());
    }
    return targets;
  }

  stmt parse_for(stmt s) {
    s.kind = stmt_kind::for_block;
    s.targets = parse_targets();
    if (!at_name("in")) fail_here(fmt::format("expected 'in' in for loop, found {}", describe_current()));
    advance();
    s.value = parse_or_conditional(false);
    if (at_name("if")) {
      advance();
      s.condition = parse_or_conditional(false);
    }
    if (at_name("recursive")) fail(errc::unsupported, current().pos, "recursive for loops are not supported");
    expect_block_end();
    ++loop_depth_;
    s.body = parse_statements({"else", "endfor"}, "for", s.pos);
    --loop_depth_;
    if (current().text == "else") {
      advance();
      expect_block_end();
      s.else_body = parse_statements({"endfor"}, "for", s.pos);
    }
    advance();
    expect_block_end();
    return s;
  }

  stmt parse_set(stmt s) {
    s.targets = parse_targets();
    if (s.targets.size() == 1 && at_op(".")) {
      advance();
      s.attribute = expect_name();
    }
    if (at_op("=")) {
      advance();
      s.kind = stmt_kind::set;
      s.value = parse_tuple_expression();
      expect_block_end();
      return s;
    }
    if (s.targets.size() != 1 || !s.attribute.empty()) fail_here("a block {% set %} assigns exactly one name");
    s.kind = stmt_kind::set_block;
    parse_filter_chain(s.filters);
    expect_block_end();
    s.body = parse_statements({"endset"}, "set", s.pos);
    advance();
    expect_block_end();
    return s;
  }

  stmt parse_filter_block(stmt s) {
    s.kind = stmt_kind::filter_block;
    if (current().kind != token_kind::name) fail_here("expected a filter name after {% filter");
    s.filters.push_back(parse_filter(nullptr));
    parse_filter_chain(s.filters);
    expect_block_end();
    s.body = parse_statements({"endfilter"}, "filter", s.pos);
    advance();
    expect_block_end();
    return s;
  }

  void parse_filter_chain(std::vector<expr_ptr>& filters) {
    while (at_op("|")) {
      advance();
      filters.push_back(parse_filter(nullptr));
    }
  }

  stmt parse_macro(stmt s) {
    s.kind = stmt_kind::macro;
    s.text = expect_name();
    expect_op("(");
    while (!at_op(")")) {
      if (!s.targets.empty()) expect_op(",");
      s.targets.push_back(expect_name());
      if (at_op("=")) {
        advance();
        s.defaults.push_back(parse_expression());
      } else {
        s.defaults.push_back(nullptr);
      }
    }
    advance();
    expect_block_end();
    const int saved_depth = loop_depth_;
    loop_depth_ = 0;
    s.body = parse_statements({"endmacro"}, "macro", s.pos);
    loop_depth_ = saved_depth;
    advance();
    expect_block_end();
    return s;
  }

  // An expression, or a bare tuple `a, b` as jinja2 allows in {% set %}.
  expr_ptr parse_tuple_expression() {
    expr_ptr first = parse_expression();
    if (!at_op(",")) return first;
    auto tuple = make_expr(expr_kind::tuple, first->pos);
    tuple->args.push_back(std::move(first));
    while (at_op(",")) {
      advance();
      tuple->args.push_back(parse_expression());
    }
    return tuple;
  }

  expr_ptr parse_expression() { return parse_or_conditional(true); }

  expr_ptr parse_or_conditional(bool with_conditional) {
    expr_ptr e = parse_or();
    while (with_conditional && at_name("if")) {
      auto cond = make_expr(expr_kind::conditional, current().pos);
      advance();
      cond->args.push_back(std::move(e));
      cond->args.push_back(parse_or());
      if (at_name("else")) {
        advance();
        cond->args.push_back(parse_or_conditional(true));
      } else {
        cond->args.push_back(nullptr);
      }
      e = std::move(cond);
    }
    return e;
  }

  expr_ptr parse_binary_chain(expr_ptr (parser::*next)(), std::initializer_list<std::string_view> ops, bool names) {
    expr_ptr left = (this->*next)();
    while (true) {
      const bool match = std::any_of(ops.begin(), ops.end(), [&](std::string_view op) { return names ? at_name(op) : at_op(op); });
      if (!match) return left;
      auto node = make_expr(expr_kind::binary, current().pos, advance().text);
      node->args.push_back(std::move(left));
      node->args.push_back((this->*next)());
      left = std::move(node);
    }
  }

  expr_ptr parse_or() { return parse_binary_chain(&parser::parse_and, {"or"}, true); }
  expr_ptr parse_and() { return parse_binary_chain(&parser::parse_not, {"and"}, true); }

  expr_ptr parse_not() {
    if (!at_name("not")) return parse_compare();
    auto node = make_expr(expr_kind::logical_not, current().pos);
    advance();
    node->args.push_back(parse_not());
    return node;
  }

  expr_ptr parse_compare() {
    expr_ptr first = parse_math1();
    expr_ptr node;
    while (true) {
      std::string op;
      const source_pos pos = current().pos;
      if (current().kind == token_kind::op &&
          (at_op("==") || at_op("!=") || at_op("<") || at_op("<=") || at_op(">") || at_op(">="))) {
        op = advance().text;
      } else if (at_name("in")) {
        op = advance().text;
      } else if (at_name("not") && peek().kind == token_kind::name && peek().text == "in") {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      if (!node) {
        node = make_expr(expr_kind::compare, pos);
        node->args.push_back(std::move(first));
      }
      node->ops.push_back(op);
      node->args.push_back(parse_math1());
    }
    return node ? std::move(node) : std::move(first);
  }

  expr_ptr parse_math1() { return parse_binary_chain(&parser::parse_concat, {"+", "-"}, false); }
  expr_ptr parse_concat() { return parse_binary_chain(&parser::parse_math2, {"~"}, false); }
  expr_ptr parse_math2() { return parse_binary_chain(&parser::parse_pow, {"*", "/", "//", "%"}, false); }
  expr_ptr parse_pow() { return parse_binary_chain(&parser::parse_unary_with_filters, {"**"}, false); }

  expr_ptr parse_unary_with_filters() { return parse_unary(true); }

  expr_ptr parse_unary(bool with_filters) {
    expr_ptr node;
    if (at_op("-") || at_op("+")) {
      node = make_expr(at_op("-") ? expr_kind::negate : expr_kind::plus, current().pos);
      advance();
      node->args.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    return with_filters ? parse_filters_and_tests(std::move(node)) : std::move(node);
  }

  expr_ptr parse_primary();
  expr_ptr parse_postfix(expr_ptr node);
  expr_ptr parse_subscript(expr_ptr node);
  void parse_call_args(expr& call);
  expr_ptr parse_call(expr_ptr callee);
  expr_ptr parse_filters_and_tests(expr_ptr node);
  expr_ptr parse_filter(expr_ptr input);
  expr_ptr parse_test(expr_ptr input);

  std::vector<token> tokens_;
  std::size_t index_ = 0;
  int loop_depth_ = 0;
};

expr_ptr parser::parse_primary() {
  const token& t = current();
  auto literal = [&](value v) {
    auto e = make_expr(expr_kind::literal, t.pos);
    e->literal = std::move(v);
    advance();
    return e;
  };
  switch (t.kind) {
    case token_kind::name:
      if (t.text == "true" || t.text == "True") return literal(true);
      if (t.text == "false" || t.text == "False") return literal(false);
      if (t.text == "none" || t.text == "None") return literal(none_type{});
      {
        auto e = make_expr(expr_kind::name, t.pos, t.text);
        advance();
        return e;
      }
    case token_kind::string: {
      std::string s = t.text;
      const source_pos pos = t.pos;
      advance();
      while (current().kind == token_kind::string) s += advance().text;  // "a" "b" concatenates
      auto e = make_expr(expr_kind::literal, pos);
      e->literal = std::move(s);
      return e;
    }
    case token_kind::integer: return literal(t.int_value);
    case token_kind::floating: return literal(t.float_value);
    default: break;
  }
  if (at_op("(")) {
    const source_pos pos = t.pos;
    advance();
    if (at_op(")")) {
      advance();
      return make_expr(expr_kind::tuple, pos);
    }
    expr_ptr first = parse_expression();
    if (at_op(")")) {
      advance();
      return first;
    }
    auto tuple = make_expr(expr_kind::tuple, pos);
    tuple->args.push_back(std::move(first));
    while (at_op(",")) {
      advance();
      if (at_op(")")) break;
      tuple->args.push_back(parse_expression());
    }
    expect_op(")");
    return tuple;
  }
  if (at_op("[") || at_op("{")) {
    const bool is_list = at_op("[");
    auto e = make_expr(is_list ? expr_kind::list : expr_kind::dict, t.pos);
    advance();
    const std::string_view close = is_list ? "]" : "}";
    while (!at_op(close)) {
      if (!e->args.empty()) {
        expect_op(",");
        if (at_op(close)) break;
      }
      e->args.push_back(parse_expression());
      if (!is_list) {
        expect_op(":");
        e->args.push_back(parse_expression());
      }
    }
    advance();
    return e;
  }
  fail_here(fmt::format("unexpected {} in expression", describe_current()));
}

expr_ptr parser::parse_postfix(expr_ptr node) {
  while (true) {
    if (at_op(".")) {
      const source_pos pos = current().pos;
      advance();
      if (current().kind == token_kind::integer) {
        auto e = make_expr(expr_kind::subscript, pos);
        e->args.push_back(std::move(node));
        auto index = make_expr(expr_kind::literal, current().pos);
        index->literal = advance().int_value;
        e->args.push_back(std::move(index));
        node = std::move(e);
        continue;
      }
      auto e = make_expr(expr_kind::attribute, pos, expect_name());
      e->args.push_back(std::move(node));
      node = std::move(e);
    } else if (at_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (at_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

expr_ptr parser::parse_subscript(expr_ptr node) {
  const source_pos pos = current().pos;
  advance();  // [
  expr_ptr parts[3];
  int num_colons = 0;
  while (!at_op("]")) {
    if (at_op(":")) {
      if (++num_colons > 2) fail_here("a slice has at most two ':'");
      advance();
      continue;
    }
    if (parts[num_colons]) fail_here(fmt::format("expected ']' or ':', found {}", describe_current()));
    parts[num_colons] = parse_expression();
    if (num_colons == 0 && at_op(",")) fail(errc::unsupported, current().pos, "tuple subscripts are not supported");
  }
  advance();
  if (num_colons == 0) {
    if (!parts[0]) fail(errc::parse_error, pos, "empty subscript '[]'");
    auto e = make_expr(expr_kind::subscript, pos);
    e->args.push_back(std::move(node));
    e->args.push_back(std::move(parts[0]));
    return e;
  }
  auto e = make_expr(expr_kind::slice, pos);
  e->args.push_back(std::move(node));
  for (auto& part : parts) e->args.push_back(std::move(part));
  return e;
}

// callee(args...): the call node's first argument is the callee; errors point at the callee.
expr_ptr parser::parse_call(expr_ptr callee) {
  auto call = make_expr(expr_kind::call, callee->pos);
  call->args.push_back(std::move(callee));
  parse_call_args(*call);
  return call;
}

void parser::parse_call_args(expr& call) {
  expect_op("(");
  bool first = true;
  while (!at_op(")")) {
    if (!first) {
      expect_op(",");
      if (at_op(")")) break;
    }
    first = false;
    if (at_op("*") || at_op("**")) fail(errc::unsupported, current().pos, "*args and **kwargs in calls are not supported");
    if (current().kind == token_kind::name && peek().kind == token_kind::op && peek().text == "=") {
      std::string key = advance().text;
      advance();
      call.kwargs.emplace_back(std::move(key), parse_expression());
    } else {
      if (!call.kwargs.empty()) fail_here("positional argument follows keyword argument");
      call.args.push_back(parse_expression());
    }
  }
  advance();
}

expr_ptr parser::parse_filters_and_tests(expr_ptr node) {
  while (true) {
    if (at_op("|")) {
      advance();
      node = parse_filter(std::move(node));
    } else if (at_name("is")) {
      node = parse_test(std::move(node));
    } else if (at_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

expr_ptr parser::parse_filter(expr_ptr input) {
  const source_pos pos = current().pos;
  std::string name = expect_name();
  while (at_op(".")) {  // dotted filter names, e.g. my.filter
    advance();
    name.push_back('.');
    name += expect_name();
  }
  if (!has_filter(name)) fail(errc::unsupported, pos, fmt::format("unknown filter '{}'", name));
  auto e = make_expr(expr_kind::filter, pos, std::move(name));
  e->args.push_back(std::move(input));
  if (at_op("(")) parse_call_args(*e);
  return e;
}

expr_ptr parser::parse_test(expr_ptr input) {
  advance();  // is
  bool negated = false;
  if (at_name("not")) {
    advance();
    negated = true;
  }
  const source_pos pos = current().pos;
  std::string name = expect_name();
  if (!has_test(name)) fail(errc::unsupported, pos, fmt::format("unknown test '{}'", name));
  auto e = make_expr(expr_kind::test, pos, std::move(name));
  e->negated = negated;
  e->args.push_back(std::move(input));
  if (at_op("(")) {
    parse_call_args(*e);
  } else {
    const token_kind k = current().kind;
    const bool starts_arg = k == token_kind::name || k == token_kind::string || k == token_kind::integer ||
                            k == token_kind::floating || at_op("[") || at_op("{");
    if (starts_arg && !at_name("else") && !at_name("or") && !at_name("and")) {
      e->args.push_back(parse_postfix(parse_primary()));
    }
  }
  return e;
}

}  // namespace

std::vector<stmt> parse_template(std::string_view source) { return parser(tokenize(source)).parse_all(); }

}  // namespace troupe::jinja
