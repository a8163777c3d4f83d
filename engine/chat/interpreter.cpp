#include "engine/chat/interpreter.hpp"

#include <fmt/format.h>

#include "engine/chat/builtins.hpp"

namespace troupe::jinja {

interpreter::interpreter(const dict& context, const render_hooks& hooks)
    : root_(std::make_shared<scope>()), hooks_(hooks) {
  for (const auto& [key, v] : context.items) root_->variables[key] = v;
}

std::string interpreter::render(const std::vector<stmt>& body) {
  std::string out;
  exec_block(body, root_, out);
  return out;
}

interpreter::flow interpreter::exec_block(const std::vector<stmt>& body, const scope_ptr& sc, std::string& out) {
  for (const stmt& s : body) {
    const flow f = exec(s, sc, out);
    if (f != flow::normal) return f;
  }
  return flow::normal;
}

interpreter::flow interpreter::exec(const stmt& s, const scope_ptr& sc, std::string& out) {
  switch (s.kind) {
    case stmt_kind::text:
      out += s.text;
      return flow::normal;
    case stmt_kind::output:
      out += to_str(eval(*s.value, sc));
      return flow::normal;
    case stmt_kind::if_block:
      return exec_block(eval(*s.value, sc).truthy() ? s.body : s.else_body, sc, out);
    case stmt_kind::for_block:
      return exec_for(s, sc, out);
    case stmt_kind::set:
    case stmt_kind::set_block:
      exec_set(s, sc, out);
      return flow::normal;
    case stmt_kind::filter_block: {
      std::string body;
      const flow f = exec_block(s.body, sc, body);
      out += to_str(apply_filters(s.filters, value(std::move(body)), sc));
      return f;
    }
    case stmt_kind::macro:
      define_macro(s, sc);
      return flow::normal;
    case stmt_kind::break_loop:
      return flow::break_loop;
    case stmt_kind::continue_loop:
      return flow::continue_loop;
  }
  return flow::normal;
}

namespace {

void assign_targets(scope& sc, const std::vector<std::string>& targets, const value& v, source_pos pos) {
  if (targets.size() == 1) {
    sc.variables[targets[0]] = v;
    return;
  }
  if (!v.is_list() || v.as_list().size() != targets.size()) {
    fail(errc::invalid_argument, pos,
         fmt::format("cannot unpack {} into {} names", v.is_list() ? fmt::format("{} values", v.as_list().size()) : type_name(v),
                     targets.size()));
  }
  for (std::size_t i = 0; i < targets.size(); ++i) sc.variables[targets[i]] = v.as_list()[i];
}

// The `loop` variable of one iteration.
value make_loop(const list& items, std::size_t i) {
  const auto n = static_cast<std::int64_t>(items.size());
  const auto index0 = static_cast<std::int64_t>(i);
  dict loop;
  loop.items = {
      {"index0", index0},
      {"index", index0 + 1},
      {"revindex0", n - index0 - 1},
      {"revindex", n - index0},
      {"first", i == 0},
      {"last", index0 == n - 1},
      {"length", n},
      {"depth", 1},
      {"depth0", 0},
      {"previtem", i > 0 ? items[i - 1] : value(undefined{"'loop.previtem' on the first iteration"})},
      {"nextitem", index0 + 1 < n ? items[i + 1] : value(undefined{"'loop.nextitem' on the last iteration"})},
      {"cycle", callable{"loop.cycle", [index0](call_args& args, source_pos pos) -> value {
                           if (args.positional.empty()) fail(errc::invalid_argument, pos, "loop.cycle() needs at least one value");
                           return args.positional[static_cast<std::size_t>(index0) % args.positional.size()];
                         }}},
  };
  return loop;
}

}  // namespace

interpreter::flow interpreter::exec_for(const stmt& s, const scope_ptr& sc, std::string& out) {
  list items = iterate(eval(*s.value, sc), s.value->pos);
  if (s.condition) {
    list kept;
    for (const value& item : items) {
      auto probe = std::make_shared<scope>();
      probe->parent = sc;
      assign_targets(*probe, s.targets, item, s.pos);
      if (eval(*s.condition, probe).truthy()) kept.push_back(item);
    }
    items = std::move(kept);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto iteration = std::make_shared<scope>();
    iteration->parent = sc;
    assign_targets(*iteration, s.targets, items[i], s.pos);
    iteration->variables["loop"] = make_loop(items, i);
    if (exec_block(s.body, iteration, out) == flow::break_loop) break;
  }
  if (items.empty()) return exec_block(s.else_body, sc, out);
  return flow::normal;
}

void interpreter::exec_set(const stmt& s, const scope_ptr& sc, std::string& out) {
  value v;
  if (s.kind == stmt_kind::set_block) {
    std::string body;
    exec_block(s.body, sc, body);
    v = apply_filters(s.filters, value(std::move(body)), sc);
  } else {
    v = eval(*s.value, sc);
  }
  if (s.attribute.empty()) {
    assign_targets(*sc, s.targets, v, s.pos);
    return;
  }
  const value target = lookup(s.targets[0], sc);
  if (!target.is_namespace()) {
    fail(errc::invalid_argument, s.pos,
         fmt::format("cannot assign attribute '{}' on '{}', which is a {} and not a namespace()", s.attribute, s.targets[0],
                     type_name(target)));
  }
  target.as_namespace().attributes.set(s.attribute, std::move(v));
}

void interpreter::define_macro(const stmt& s, const scope_ptr& sc) {
  std::weak_ptr<scope> defined_in = sc;  // a macro stored in its own scope must not keep it alive
  sc->variables[s.text] = callable{s.text, [this, &s, defined_in](call_args& args, source_pos pos) {
                                      return call_macro(s, defined_in.lock(), args, pos);
                                    }};
}

value interpreter::call_macro(const stmt& s, const scope_ptr& defined_in, call_args& args, source_pos pos) {
  if (!defined_in) fail(errc::internal, pos, fmt::format("macro '{}' outlived the scope it was defined in", s.text));
  if (args.positional.size() > s.targets.size()) {
    fail(errc::invalid_argument, pos,
         fmt::format("macro '{}' takes {} arguments, {} given", s.text, s.targets.size(), args.positional.size()));
  }
  auto call_scope = std::make_shared<scope>();
  call_scope->parent = defined_in;
  std::vector<bool> bound(s.targets.size(), false);
  for (std::size_t i = 0; i < args.positional.size(); ++i) {
    call_scope->variables[s.targets[i]] = args.positional[i];
    bound[i] = true;
  }
  for (auto& [key, v] : args.named) {
    const auto it = std::find(s.targets.begin(), s.targets.end(), key);
    if (it == s.targets.end()) fail(errc::invalid_argument, pos, fmt::format("macro '{}' has no parameter '{}'", s.text, key));
    call_scope->variables[key] = v;
    bound[static_cast<std::size_t>(it - s.targets.begin())] = true;
  }
  for (std::size_t i = 0; i < s.targets.size(); ++i) {
    if (bound[i]) continue;
    call_scope->variables[s.targets[i]] =
        s.defaults[i] ? eval(*s.defaults[i], call_scope) : value(undefined{fmt::format("'{}'", s.targets[i])});
  }
  std::string out;
  exec_block(s.body, call_scope, out);
  return out;
}

value interpreter::apply_filters(const std::vector<expr_ptr>& filters, value input, const scope_ptr& sc) {
  for (const expr_ptr& f : filters) input = eval_filter(*f, input, sc);
  return input;
}

value interpreter::lookup(const std::string& name, const scope_ptr& sc) const {
  for (const scope* s = sc.get(); s != nullptr; s = s->parent.get()) {
    const auto it = s->variables.find(name);
    if (it != s->variables.end()) return it->second;
  }
  return builtin_global(name);
}

call_args interpreter::eval_args(const expr& e, std::size_t first, const scope_ptr& sc) {
  call_args args;
  for (std::size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i], sc));
  for (const auto& [key, arg] : e.kwargs) args.named.emplace_back(key, eval(*arg, sc));
  return args;
}

value interpreter::eval_filter(const expr& e, const value& input, const scope_ptr& sc) {
  call_args args = eval_args(e, 1, sc);
  return apply_filter(e.name, input, args, e.pos);
}

value interpreter::eval_call(const expr& e, const scope_ptr& sc) {
  const value callee = eval(*e.args[0], sc);
  call_args args = eval_args(e, 1, sc);
  if (callee.is_callable()) return callee.as_callable().invoke(args, e.pos);
  if (callee.is_undefined()) fail(errc::invalid_argument, e.pos, fmt::format("cannot call {}: it is undefined", callee.as_undefined().name));
  fail(errc::invalid_argument, e.pos, fmt::format("'{}' object is not callable", type_name(callee)));
}

value interpreter::eval_compare(const expr& e, const scope_ptr& sc) {
  value left = eval(*e.args[0], sc);
  for (std::size_t i = 0; i < e.ops.size(); ++i) {
    value right = eval(*e.args[i + 1], sc);
    const std::string& op = e.ops[i];
    bool holds = false;
    if (op == "==") {
      holds = equals(left, right);
    } else if (op == "!=") {
      holds = !equals(left, right);
    } else if (op == "in" || op == "not in") {
      holds = contains(right, left, e.pos) == (op == "in");
    } else {
      const int c = compare(left, right, e.pos);
      holds = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!holds) return false;
    left = std::move(right);
  }
  return true;
}

value interpreter::eval(const expr& e, const scope_ptr& sc) {
  switch (e.kind) {
    case expr_kind::literal: return e.literal;
    case expr_kind::name: {
      value v = lookup(e.name, sc);
      return v;
    }
    case expr_kind::list:
    case expr_kind::tuple: {
      list items;
      for (const auto& arg : e.args) items.push_back(eval(*arg, sc));
      return e.kind == expr_kind::tuple ? value::tuple(std::move(items)) : value(std::move(items));
    }
    case expr_kind::dict: {
      dict d;
      for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
        const value key = eval(*e.args[i], sc);
        if (!key.is_string()) fail(errc::unsupported, e.args[i]->pos, fmt::format("dict keys must be strings, not {}", type_name(key)));
        d.set(key.as_string(), eval(*e.args[i + 1], sc));
      }
      return d;
    }
    case expr_kind::attribute: return get_attribute(eval(*e.args[0], sc), e.name, e.pos);
    case expr_kind::subscript: return get_item(eval(*e.args[0], sc), eval(*e.args[1], sc), e.pos);
    case expr_kind::slice: {
      const value obj = eval(*e.args[0], sc);
      auto bound = [&](std::size_t i) { return e.args[i] ? eval(*e.args[i], sc) : value(none_type{}); };
      return get_slice(obj, bound(1), bound(2), bound(3), e.pos);
    }
    case expr_kind::call: return eval_call(e, sc);
    case expr_kind::filter: return eval_filter(e, eval(*e.args[0], sc), sc);
    case expr_kind::test: {
      const value subject = eval(*e.args[0], sc);
      call_args args = eval_args(e, 1, sc);
      return apply_test(e.name, subject, args, e.pos) != e.negated;
    }
    case expr_kind::negate: return binary_operation("-", value(std::int64_t{0}), eval(*e.args[0], sc), e.pos);
    case expr_kind::plus: return binary_operation("+", value(std::int64_t{0}), eval(*e.args[0], sc), e.pos);
    case expr_kind::logical_not: return !eval(*e.args[0], sc).truthy();
    case expr_kind::binary: {
      value left = eval(*e.args[0], sc);
      if (e.name == "and") return left.truthy() ? eval(*e.args[1], sc) : left;
      if (e.name == "or") return left.truthy() ? left : eval(*e.args[1], sc);
      return binary_operation(e.name, left, eval(*e.args[1], sc), e.pos);
    }
    case expr_kind::compare: return eval_compare(e, sc);
    case expr_kind::conditional:
      if (eval(*e.args[1], sc).truthy()) return eval(*e.args[0], sc);
      return e.args[2] ? eval(*e.args[2], sc) : value(undefined{"the missing else branch of a conditional"});
  }
  fail(errc::internal, e.pos, "unhandled expression kind");
}

}  // namespace troupe::jinja
