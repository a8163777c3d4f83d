// Renders parsed statements over a context with jinja2's scoping: the template's top level is one
// scope over the context, every for-loop iteration and macro call gets a fresh child scope (so a
// `set` inside a loop is gone after the iteration; namespace() objects carry state out), and
// `if` blocks share their enclosing scope.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/chat/ast.hpp"

namespace troupe::jinja {

struct scope {
  std::shared_ptr<scope> parent;
  std::unordered_map<std::string, value> variables;
};
using scope_ptr = std::shared_ptr<scope>;

struct render_hooks {
  std::optional<std::tm> local_time;  // what strftime_now() formats; empty means the current time
};

class interpreter {
 public:
  // `context` holds the template's variables; `hooks` outlives the interpreter.
  interpreter(const dict& context, const render_hooks& hooks);

  std::string render(const std::vector<stmt>& body);

 private:
  enum class flow { normal, break_loop, continue_loop };

  flow exec_block(const std::vector<stmt>& body, const scope_ptr& sc, std::string& out);
  flow exec(const stmt& s, const scope_ptr& sc, std::string& out);
  flow exec_for(const stmt& s, const scope_ptr& sc, std::string& out);
  void exec_set(const stmt& s, const scope_ptr& sc, std::string& out);
  void define_macro(const stmt& s, const scope_ptr& sc);
  value call_macro(const stmt& s, const scope_ptr& defined_in, call_args& args, source_pos pos);
  value apply_filters(const std::vector<expr_ptr>& filters, value input, const scope_ptr& sc);

  value eval(const expr& e, const scope_ptr& sc);
  value eval_call(const expr& e, const scope_ptr& sc);
  value eval_filter(const expr& e, const value& input, const scope_ptr& sc);
  value eval_compare(const expr& e, const scope_ptr& sc);
  call_args eval_args(const expr& e, std::size_t first, const scope_ptr& sc);
  value lookup(const std::string& name, const scope_ptr& sc) const;

  value builtin_global(const std::string& name) const;

  scope_ptr root_;
  const render_hooks& hooks_;
};

// Arithmetic and concatenation with Python's rules: + - * / // % ** ~.
value binary_operation(const std::string& op, const value& a, const value& b, source_pos pos);

}  // namespace troupe::jinja
