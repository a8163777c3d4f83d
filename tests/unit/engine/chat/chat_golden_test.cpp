// Golden test: every template in tests/golden/chat/templates/ rendered over every conversation in
// tests/golden/chat/conversations.json must match, byte for byte, what Python's jinja2 renders
// with transformers' apply_chat_template settings.
// Oracle: scripts/chat_golden.py (regenerates tests/golden/chat/expected.json).
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/chat/chat_template.hpp"

namespace troupe {
namespace {

const std::string golden_dir = std::string(TROUPE_SOURCE_DIR) + "/tests/golden/chat";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct golden_case {
  std::string test_name;
  std::string template_file;
  nlohmann::ordered_json context;
  nlohmann::ordered_json expected;  // {"output"} | {"error"} (raise_exception) | {"runtime_error"}
};

void PrintTo(const golden_case& c, std::ostream* out) { *out << c.test_name; }

std::string sanitize(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::vector<golden_case> load_cases() {
  std::vector<golden_case> cases;
  const auto expected = nlohmann::ordered_json::parse(read_text(golden_dir + "/expected.json"), nullptr, false);
  if (expected.is_discarded()) return cases;
  for (const auto& c : expected["cases"]) {
    const std::string file = c["template"].get<std::string>();
    std::string name = file.substr(0, file.find('.')) + "_" + c["name"].get<std::string>();
    if (c["name"] != "features") name += c["add_generation_prompt"].get<bool>() ? "_with_generation_prompt" : "_without_generation_prompt";
    cases.push_back(golden_case{sanitize(name), file, c["context"], c});
  }
  return cases;
}

// The clock scripts/chat_golden.py fixes for strftime_now: Thursday 2024-09-05 13:07:42.
std::tm oracle_time() {
  std::tm t{};
  t.tm_year = 2024 - 1900;
  t.tm_mon = 8;
  t.tm_mday = 5;
  t.tm_hour = 13;
  t.tm_min = 7;
  t.tm_sec = 42;
  t.tm_wday = 4;
  t.tm_yday = 248;
  return t;
}

class chat_golden : public ::testing::TestWithParam<golden_case> {};

TEST(chat_golden_data, has_cases_for_every_template) {
  std::map<std::string, int> num_cases;
  for (const auto& c : load_cases()) ++num_cases[c.template_file];
  for (const char* file : {"qwen3.jinja", "llama3.jinja", "llama3_1_instruct.jinja", "llama2_chat.jinja",
                           "mistral_v0_3.jinja", "features_expressions.jinja", "features_control.jinja",
                           "features_whitespace.jinja"}) {
    EXPECT_GT(num_cases[file], 0) << file;
  }
}

TEST_P(chat_golden, renders_exactly_like_python_jinja2) {
  const golden_case& c = GetParam();
  auto tmpl = chat_template::parse(read_text(golden_dir + "/templates/" + c.template_file));
  ASSERT_TRUE(tmpl) << tmpl.error().message;
  const auto rendered = tmpl->render(c.context, chat_render_options{.local_time = oracle_time()});
  if (c.expected.contains("output")) {
    ASSERT_TRUE(rendered) << rendered.error().message;
    EXPECT_EQ(*rendered, c.expected["output"].get<std::string>());
  } else if (c.expected.contains("error")) {
    ASSERT_FALSE(rendered) << "expected raise_exception: " << c.expected["error"].get<std::string>();
    EXPECT_NE(rendered.error().message.find("raise_exception: " + c.expected["error"].get<std::string>()), std::string::npos)
        << rendered.error().message;
  } else {
    ASSERT_FALSE(rendered) << "Python jinja2 failed with " << c.expected["runtime_error"].get<std::string>();
  }
}

INSTANTIATE_TEST_SUITE_P(templates, chat_golden, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<golden_case>& info) { return info.param.test_name; });

}  // namespace
}  // namespace troupe
