// The bad corpus: every tests/config/bad/*.yaml must fail to load with the message its first line
// announces. Format of that line: "# expect: <substring of the message>" (the substring starts with
// "line:col: key path"); a second line "# code: parse_error" expects a YAML syntax error, otherwise
// the code is invalid_argument. Add a case by adding a file.
#include <algorithm>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/cluster_config.hpp"
#include "tests/unit/config/config_test_support.hpp"

namespace troupe {
namespace {

std::filesystem::path bad_dir() {
  return testing::source_dir() / "tests/config/bad";
}

std::vector<std::string> bad_files() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(bad_dir(), ec)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct expectation {
  std::string substring;
  errc code = errc::invalid_argument;
};

expectation read_expectation(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string first;
  std::string second;
  std::getline(in, first);
  std::getline(in, second);
  expectation out;
  constexpr std::string_view expect_prefix = "# expect: ";
  if (first.rfind(expect_prefix, 0) == 0) out.substring = first.substr(expect_prefix.size());
  if (second == "# code: parse_error") out.code = errc::parse_error;
  return out;
}

class bad_config : public ::testing::TestWithParam<std::string> {};

TEST_P(bad_config, fails_with_the_error_its_first_line_announces) {
  const auto file = bad_dir() / GetParam();
  const expectation expected = read_expectation(file);
  ASSERT_FALSE(expected.substring.empty()) << file << " does not start with \"# expect: \"";
  const auto config = load_cluster_config(file);
  ASSERT_FALSE(config) << file << " loaded";
  EXPECT_EQ(errc_name(config.error().code), errc_name(expected.code)) << config.error().message;
  EXPECT_THAT(config.error().message, ::testing::HasSubstr(expected.substring));
  EXPECT_THAT(config.error().message, ::testing::StartsWith(file.string() + ":"));
}

TEST(bad_config_corpus, has_at_least_fifteen_files) {
  EXPECT_GE(bad_files().size(), 15U);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(corpus, bad_config, ::testing::ValuesIn(bad_files()), test_name);

}  // namespace
}  // namespace troupe
