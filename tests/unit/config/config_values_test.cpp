// The scalar formats of cluster.yaml: integers, sizes and device lists.
#include "config/config_values.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> names_of(const result<std::vector<device_spec>>& devices) {
  std::vector<std::string> names;
  for (const auto& device : devices.value()) names.push_back(device.name());
  return names;
}

TEST(parse_integer, accepts_plain_decimal_integers_only) {
  EXPECT_EQ(parse_integer("8000"), 8000);
  EXPECT_EQ(parse_integer("-3"), -3);
  EXPECT_EQ(parse_integer("+7"), 7);
  EXPECT_EQ(parse_integer("eighty"), std::nullopt);
  EXPECT_EQ(parse_integer("80.5"), std::nullopt);
  EXPECT_EQ(parse_integer("0x10"), std::nullopt);
  EXPECT_EQ(parse_integer(" 8"), std::nullopt);
  EXPECT_EQ(parse_integer(""), std::nullopt);
  EXPECT_EQ(parse_integer("+"), std::nullopt);
  EXPECT_EQ(parse_integer("99999999999999999999"), std::nullopt);
}

TEST(parse_size, reads_binary_and_decimal_units_and_plain_byte_counts) {
  EXPECT_EQ(parse_size("1GiB").value(), 1ULL << 30);
  EXPECT_EQ(parse_size("512MiB").value(), 512ULL << 20);
  EXPECT_EQ(parse_size("64KiB").value(), 64ULL << 10);
  EXPECT_EQ(parse_size("2TiB").value(), 2ULL << 40);
  EXPECT_EQ(parse_size("2GB").value(), 2'000'000'000ULL);
  EXPECT_EQ(parse_size("3MB").value(), 3'000'000ULL);
  EXPECT_EQ(parse_size("5KB").value(), 5'000ULL);
  EXPECT_EQ(parse_size("1TB").value(), 1'000'000'000'000ULL);
  EXPECT_EQ(parse_size("100B").value(), 100ULL);
  EXPECT_EQ(parse_size("1048576").value(), 1048576ULL);
  EXPECT_EQ(parse_size("4 GiB").value(), 4ULL << 30);
}

TEST(parse_size, rejects_unknown_units_fractions_and_overflow) {
  for (const char* text :
       {"lots", "1gib", "1.5GiB", "GiB", "-1", "1 ", "1  GiB", "1GiBs", "", "1Gi"}) {
    const auto size = parse_size(text);
    ASSERT_FALSE(size) << text;
    EXPECT_EQ(size.error().code, errc::invalid_argument);
    EXPECT_THAT(size.error().message, HasSubstr(R"(expected a size such as "1GiB")")) << text;
  }
  EXPECT_THAT(parse_size("1Gi").error().message, HasSubstr("units: B, KB"));
  EXPECT_THAT(parse_size("20000000000TiB").error().message, HasSubstr("too large"));
  EXPECT_THAT(parse_size("99999999999999999999999").error().message, HasSubstr("too large"));
}

TEST(parse_devices, cpu_n_means_n_cpu_devices) {
  EXPECT_THAT(names_of(parse_devices("cpu:1")), ElementsAre("cpu:0"));
  EXPECT_THAT(names_of(parse_devices("cpu:3")), ElementsAre("cpu:0", "cpu:1", "cpu:2"));
}

TEST(parse_devices, cuda_lists_indices_and_ranges_in_order) {
  EXPECT_THAT(names_of(parse_devices("cuda:3")), ElementsAre("cuda:3"));
  EXPECT_THAT(names_of(parse_devices("cuda:0-2")), ElementsAre("cuda:0", "cuda:1", "cuda:2"));
  EXPECT_THAT(names_of(parse_devices("cuda:0,2,5")), ElementsAre("cuda:0", "cuda:2", "cuda:5"));
  EXPECT_THAT(names_of(parse_devices("cuda:4-5, 1")), ElementsAre("cuda:4", "cuda:5", "cuda:1"));
  EXPECT_EQ(parse_devices("cuda:0-7")->size(), 8U);
}

TEST(parse_devices, rejects_malformed_lists_with_the_reason) {
  const auto expect_error = [](const char* text, const char* reason) {
    const auto devices = parse_devices(text);
    ASSERT_FALSE(devices) << text;
    EXPECT_EQ(devices.error().code, errc::invalid_argument);
    EXPECT_THAT(devices.error().message, HasSubstr(reason)) << text;
  };
  expect_error("gpu",
               R"(expected a device list such as "cpu:1", "cuda:0-7" or "cuda:0,2", got "gpu")");
  expect_error("gpu:0", "unknown device kind \"gpu\"");
  expect_error("cpu:0", "must be in [1, 1024]");
  expect_error("cpu:-1", "must be a decimal integer");
  expect_error("cpu:", "must be a decimal integer");
  expect_error("cpu:100000", "must be in [1, 1024]");
  expect_error("cuda:", "is not an index or a range");
  expect_error("cuda:0,,1", "is not an index or a range");
  expect_error("cuda:a", "is not an index or a range");
  expect_error("cuda:7-0", "the range 7-0 is reversed");
  expect_error("cuda:0-4000000000", "below 1024");
  expect_error("cuda:0-3,2", "device cuda:2 is listed twice");
  expect_error("cuda:1,1", "device cuda:1 is listed twice");
}

}  // namespace
}  // namespace troupe

namespace troupe {
namespace {

TEST(quote_for_message, cuts_long_text) {
  EXPECT_EQ(quote_for_message("gpu"), "\"gpu\"");
  EXPECT_EQ(quote_for_message(std::string(100, 'x')), "\"" + std::string(64, 'x') + "...\"");
}

}  // namespace
}  // namespace troupe
