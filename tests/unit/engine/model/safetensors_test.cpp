// The safetensors reader over small files written in a scratch folder: one valid file and one
// file per kind of damage the reader must reject.
#include "engine/model/safetensors.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/engine/model/test_files.hpp"

namespace troupe {
namespace {

using ::testing::HasSubstr;
using testing_files::temp_dir;
using testing_files::write_file;

// u64 little-endian length + header, no padding.
std::string with_length(std::string_view header) {
  std::uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + std::string(header);
}

// A file with one tensor described by `entry` (the JSON object) and `data_bytes` zero bytes of data.
std::string one_tensor_file(std::string_view entry, std::size_t data_bytes) {
  return with_length(fmt::format(R"({{"w":{}}})", entry)) + std::string(data_bytes, '\0');
}

result<safetensors_file> open_bytes(const temp_dir& dir, std::string_view bytes) {
  auto path = dir.path() / "model.safetensors";
  write_file(path, bytes);
  return open_safetensors(path);
}

TEST(safetensors, reads_names_types_shapes_and_data_of_a_valid_file) {
  temp_dir dir;
  std::vector<safetensors_entry> entries{{"a", dtype::f32, {2, 3}}, {"b", dtype::bf16, {4}}};
  std::string bytes = safetensors_header(entries);
  std::vector<float> a{1, 2, 3, 4, 5, 6};
  bytes.append(reinterpret_cast<const char*>(a.data()), 24);
  bytes.append("\x80\x3f\x00\x40\x40\x40\x80\x40", 8);  // bf16 1, 2, 3, 4
  auto file = open_bytes(dir, bytes);
  ASSERT_TRUE(file.has_value()) << file.error().to_string();
  ASSERT_EQ(file->tensors.size(), 2u);
  const tensor_info& ta = file->tensors[0];
  EXPECT_EQ(ta.name, "a");
  EXPECT_EQ(ta.type, dtype::f32);
  EXPECT_EQ(ta.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(ta.size_bytes, 24u);
  EXPECT_EQ(ta.file, (dir.path() / "model.safetensors").string());
  float a5 = 0;
  std::memcpy(&a5, ta.data + 20, 4);
  EXPECT_EQ(a5, 6.0f);
  const tensor_info& tb = file->tensors[1];
  EXPECT_EQ(tb.type, dtype::bf16);
  EXPECT_EQ(tb.shape, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(std::to_integer<int>(tb.data[1]), 0x3f);
}

TEST(safetensors, writer_pads_the_header_to_a_multiple_of_8_bytes) {
  std::vector<safetensors_entry> entries{{"x", dtype::f16, {3}}};
  std::string header = safetensors_header(entries);
  EXPECT_EQ(header.size() % 8, 0u);
  std::uint64_t n = 0;
  std::memcpy(&n, header.data(), 8);
  EXPECT_EQ(n + 8, header.size());
  EXPECT_THAT(header, HasSubstr(R"("x":{"dtype":"F16","shape":[3],"data_offsets":[0,6]})"));
}

TEST(safetensors, rejects_a_file_shorter_than_the_length_prefix) {
  temp_dir dir;
  auto file = open_bytes(dir, "abc");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, errc::parse_error);
  EXPECT_THAT(file.error().message, HasSubstr("too short"));
}

TEST(safetensors, rejects_a_header_length_beyond_the_file) {
  temp_dir dir;
  std::string bytes = with_length(R"({"__metadata__":{}})");
  bytes.resize(bytes.size() - 4);  // truncated inside the header
  auto file = open_bytes(dir, bytes);
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("header length"));
}

TEST(safetensors, rejects_a_header_that_is_not_json) {
  temp_dir dir;
  auto file = open_bytes(dir, with_length(R"({"w": {"dtype": "F32",)"));
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, errc::parse_error);
  EXPECT_THAT(file.error().message, HasSubstr("not a JSON object"));
}

TEST(safetensors, rejects_unsupported_dtypes_naming_tensor_and_file) {
  for (std::string type : {"I8", "F8_E4M3", "F64"}) {
    temp_dir dir;
    std::size_t element = type == "F64" ? 8 : 1;
    auto file = open_bytes(dir, one_tensor_file(fmt::format(R"({{"dtype":"{}","shape":[2],"data_offsets":[0,{}]}})", type, 2 * element),
                                                2 * element));
    ASSERT_FALSE(file.has_value()) << type;
    EXPECT_EQ(file.error().code, errc::unsupported);
    EXPECT_THAT(file.error().message, HasSubstr("tensor w has dtype " + type));
    EXPECT_THAT(file.error().message, HasSubstr("model.safetensors"));
  }
}

TEST(safetensors, rejects_an_unknown_dtype_name_as_malformed) {
  temp_dir dir;
  auto file = open_bytes(dir, one_tensor_file(R"({"dtype":"F17","shape":[1],"data_offsets":[0,2]})", 2));
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, errc::parse_error);
  EXPECT_THAT(file.error().message, HasSubstr("F17"));
}

TEST(safetensors, rejects_offsets_past_the_end_of_a_truncated_file) {
  temp_dir dir;
  auto file = open_bytes(dir, one_tensor_file(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", 12));
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, errc::parse_error);
  EXPECT_THAT(file.error().message, HasSubstr("tensor w: data_offsets [0, 16] run past the data region (12 bytes"));
}

TEST(safetensors, rejects_offsets_that_disagree_with_shape_and_dtype) {
  temp_dir dir;
  auto file = open_bytes(dir, one_tensor_file(R"({"dtype":"BF16","shape":[2,3],"data_offsets":[0,24]})", 24));
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("hold 24 bytes but BF16 [2,3] needs 12"));
}

TEST(safetensors, rejects_offsets_that_end_before_they_begin) {
  temp_dir dir;
  auto file = open_bytes(dir, one_tensor_file(R"({"dtype":"F32","shape":[0],"data_offsets":[8,4]})", 8));
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("end before they begin"));
}

TEST(safetensors, rejects_overlapping_tensors) {
  temp_dir dir;
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  auto file = open_bytes(dir, with_length(header) + std::string(12, '\0'));
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("tensors a and b overlap"));
}

TEST(safetensors, rejects_negative_dimensions) {
  temp_dir dir;
  auto file = open_bytes(dir, one_tensor_file(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", 4));
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("bad dimension -1"));
}

TEST(safetensors, reports_a_missing_file_as_not_found) {
  temp_dir dir;
  auto file = open_safetensors(dir.path() / "absent.safetensors");
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code, errc::not_found);
}

}  // namespace
}  // namespace troupe
