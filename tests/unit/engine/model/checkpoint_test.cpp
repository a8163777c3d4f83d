// checkpoint over the shared stories260K checkpoints (/work/shared/models/README.md gives their
// shapes) and over small sharded checkpoints written in a scratch folder.
#include "engine/model/checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/engine/model/test_files.hpp"

namespace troupe {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using testing_files::temp_dir;
using testing_files::write_file;

std::filesystem::path stories(std::string_view name = "stories260K") {
  return std::filesystem::path(TROUPE_SHARED_MODELS_DIR) / name;
}

// A safetensors file of F32 vectors [2] named `names`, element j of tensor i = 10 * i + j.
std::string f32_file(const std::vector<std::string>& names) {
  std::vector<safetensors_entry> entries;
  for (const auto& name : names) entries.push_back({name, dtype::f32, {2}});
  std::string bytes = safetensors_header(entries);
  for (std::size_t i = 0; i < names.size(); ++i) {
    float values[2] = {10.0f * static_cast<float>(i), 10.0f * static_cast<float>(i) + 1};
    bytes.append(reinterpret_cast<const char*>(values), sizeof(values));
  }
  return bytes;
}

// Two shards: a and b in the first, c in the second, with an index listing `index_map`.
void write_two_shards(const temp_dir& dir, const std::string& index_map) {
  write_file(dir.path() / "model-00001-of-00002.safetensors", f32_file({"a", "b"}));
  write_file(dir.path() / "model-00002-of-00002.safetensors", f32_file({"c"}));
  write_file(dir.path() / "model.safetensors.index.json", R"({"metadata": {"total_size": 24}, "weight_map": )" + index_map + "}");
}

const std::string two_shard_map =
    R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"})";

TEST(checkpoint, lists_the_47_tensors_of_stories260k_without_lm_head) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value()) << ckpt.error().to_string();
  auto names = ckpt->names();
  EXPECT_EQ(names.size(), 1u + 5 * 9 + 1);
  EXPECT_THAT(names, Contains("model.embed_tokens.weight"));
  EXPECT_THAT(names, Contains("model.layers.4.mlp.down_proj.weight"));
  EXPECT_THAT(names, Contains("model.norm.weight"));
  EXPECT_THAT(names, Not(Contains("lm_head.weight")));  // tied embeddings
  EXPECT_EQ(ckpt->find("lm_head.weight"), nullptr);
  EXPECT_EQ(ckpt->num_files(), 1u);
}

TEST(checkpoint, stories260k_holds_260032_f32_parameters) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value()) << ckpt.error().to_string();
  EXPECT_EQ(ckpt->total_bytes(), 260032u * 4);
}

TEST(checkpoint, views_stories260k_weights_at_their_real_shapes) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value()) << ckpt.error().to_string();
  struct expected { const char* name; std::int64_t rows, cols; };
  for (auto [name, rows, cols] : {expected{"model.embed_tokens.weight", 512, 64}, expected{"model.layers.0.self_attn.q_proj.weight", 64, 64},
                                  expected{"model.layers.0.self_attn.k_proj.weight", 32, 64}, expected{"model.layers.2.mlp.up_proj.weight", 172, 64},
                                  expected{"model.layers.2.mlp.down_proj.weight", 64, 172}, expected{"model.norm.weight", 1, 64}}) {
    auto t = ckpt->get(name, rows, cols);
    ASSERT_TRUE(t.has_value()) << t.error().to_string();
    EXPECT_EQ(t->type, dtype::f32);
    EXPECT_EQ(t->rows, rows);
    EXPECT_EQ(t->cols, cols);
    EXPECT_EQ(t->row_stride, cols);
    EXPECT_EQ(t->data, ckpt->find(name)->data);
  }
}

TEST(checkpoint, bf16_copy_has_the_same_tensors_in_bf16) {
  auto f32 = checkpoint::open(stories());
  auto bf16 = checkpoint::open(stories("stories260K-bf16"));
  ASSERT_TRUE(f32.has_value() && bf16.has_value());
  EXPECT_EQ(f32->names(), bf16->names());
  EXPECT_EQ(bf16->find("model.norm.weight")->type, dtype::bf16);
  EXPECT_EQ(bf16->total_bytes(), 260032u * 2);
}

TEST(checkpoint, get_names_file_tensor_and_both_shapes_on_mismatch) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value());
  auto t = ckpt->get("model.layers.0.self_attn.k_proj.weight", 64, 64);
  ASSERT_FALSE(t.has_value());
  EXPECT_THAT(t.error().message, HasSubstr("stories260K/model.safetensors: tensor model.layers.0.self_attn.k_proj.weight "
                                           "has shape [32, 64], expected [64, 64]"));
}

TEST(checkpoint, get_refuses_a_vector_as_more_than_one_row) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value());
  EXPECT_FALSE(ckpt->get("model.norm.weight", 2, 32).has_value());
}

TEST(checkpoint, get_reports_a_missing_tensor_as_not_found) {
  auto ckpt = checkpoint::open(stories());
  ASSERT_TRUE(ckpt.has_value());
  auto t = ckpt->get("lm_head.weight", 512, 64);
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, errc::not_found);
  EXPECT_THAT(t.error().message, HasSubstr("lm_head.weight"));
}

TEST(checkpoint, maps_every_shard_of_a_sharded_checkpoint) {
  temp_dir dir;
  write_two_shards(dir, two_shard_map);
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value()) << ckpt.error().to_string();
  EXPECT_EQ(ckpt->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(ckpt->num_files(), 2u);
  EXPECT_EQ(ckpt->total_bytes(), 24u);
  auto c = ckpt->get("c", 1, 2);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->row<float>(0)[1], 1.0f);
  EXPECT_EQ(ckpt->get("b", 1, 2)->row<float>(0)[0], 10.0f);
  EXPECT_THAT(ckpt->find("c")->file, HasSubstr("model-00002-of-00002.safetensors"));
}

TEST(checkpoint, views_stay_valid_after_the_checkpoint_moves) {
  temp_dir dir;
  write_two_shards(dir, two_shard_map);
  auto opened = checkpoint::open(dir.path());
  ASSERT_TRUE(opened.has_value());
  tensor before = *opened->get("b", 1, 2);
  checkpoint moved = std::move(opened).value();
  EXPECT_EQ(moved.get("b", 1, 2)->data, before.data);
  EXPECT_EQ(before.row<float>(0)[1], 11.0f);
}

TEST(checkpoint, reports_a_missing_shard_file) {
  temp_dir dir;
  write_two_shards(dir, R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                            "c": "model-00002-of-00002.safetensors", "d": "model-00003-of-00002.safetensors"})");
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_EQ(ckpt.error().code, errc::not_found);
  EXPECT_THAT(ckpt.error().message, HasSubstr("lists shard"));
  EXPECT_THAT(ckpt.error().message, HasSubstr("model-00003-of-00002.safetensors, which does not exist"));
}

TEST(checkpoint, reports_a_tensor_listed_in_the_index_but_absent_from_its_shard) {
  temp_dir dir;
  write_two_shards(dir, R"({"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                            "c": "model-00002-of-00002.safetensors", "e": "model-00002-of-00002.safetensors"})");
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_EQ(ckpt.error().code, errc::not_found);
  EXPECT_THAT(ckpt.error().message, HasSubstr("lists tensor e in shard model-00002-of-00002.safetensors, which does not contain it"));
}

TEST(checkpoint, rejects_a_shard_tensor_that_the_index_places_elsewhere) {
  temp_dir dir;
  write_two_shards(dir, R"({"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
                            "c": "model-00002-of-00002.safetensors"})");
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_THAT(ckpt.error().message, HasSubstr("tensor b is in shard model-00001-of-00002.safetensors"));
}

TEST(checkpoint, rejects_an_index_naming_a_file_outside_the_folder) {
  temp_dir dir;
  write_two_shards(dir, R"({"a": "../model-00001-of-00002.safetensors"})");
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_EQ(ckpt.error().code, errc::parse_error);
  EXPECT_THAT(ckpt.error().message, HasSubstr("not a file in the checkpoint folder"));
}

TEST(checkpoint, rejects_an_index_without_weight_map) {
  temp_dir dir;
  write_file(dir.path() / "model.safetensors.index.json", R"({"metadata": {}})");
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_THAT(ckpt.error().message, HasSubstr("\"weight_map\""));
}

TEST(checkpoint, passes_on_a_damaged_shard_error) {
  temp_dir dir;
  write_two_shards(dir, two_shard_map);
  std::string truncated = f32_file({"c"});
  write_file(dir.path() / "model-00002-of-00002.safetensors", truncated.substr(0, truncated.size() - 3));
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_EQ(ckpt.error().code, errc::parse_error);
  EXPECT_THAT(ckpt.error().message, HasSubstr("model-00002-of-00002.safetensors: tensor c"));
}

TEST(checkpoint, prefers_model_safetensors_over_an_index) {
  temp_dir dir;
  write_two_shards(dir, two_shard_map);
  write_file(dir.path() / "model.safetensors", f32_file({"single"}));
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value());
  EXPECT_EQ(ckpt->names(), (std::vector<std::string>{"single"}));
}

TEST(checkpoint, reports_a_folder_without_weights_as_not_found) {
  temp_dir dir;
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_FALSE(ckpt.has_value());
  EXPECT_EQ(ckpt.error().code, errc::not_found);
  EXPECT_THAT(ckpt.error().message, HasSubstr("neither model.safetensors nor model.safetensors.index.json"));
}

}  // namespace
}  // namespace troupe
