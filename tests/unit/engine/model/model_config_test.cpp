// config.json parsing over real released configs (fixtures in configs/, copied from the Hugging
// Face repositories named by their folders) and the shared stories260K checkpoints.
#include "engine/model/model_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(TROUPE_SOURCE_DIR) / "tests/unit/engine/model/configs" / name;
}

model_config load_fixture(std::string_view name) {
  auto config = load_model_config(fixture(name));
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().to_string());
  return config ? *config : model_config{};
}

nlohmann::json fixture_json(std::string_view name) {
  std::ifstream in(fixture(name) / "config.json");
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

// Parses a fixture's config.json after `edit` changed it.
template <class Edit>
result<model_config> parse_edited(std::string_view name, Edit edit) {
  nlohmann::json config = fixture_json(name);
  edit(config);
  return parse_model_config(config.dump(), "", "edited/config.json");
}

TEST(model_config, reads_every_field_of_llama_3_1_8b_instruct) {
  model_config c = load_fixture("Llama-3.1-8B-Instruct");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.arch, model_arch::llama);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(*c.rope_scaling, (llama3_rope_scaling{8.0f, 1.0f, 4.0f, 8192}));
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, dtype::bf16);
  EXPECT_EQ(c.bos_token_id, 128000);
  EXPECT_THAT(c.eos_token_ids, ElementsAre(128001, 128008, 128009));
}

TEST(model_config, llama_3_2_1b_ties_embeddings_and_scales_rope_by_32) {
  model_config c = load_fixture("Llama-3.2-1B");
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_hidden_layers, 16);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_FLOAT_EQ(c.rope_scaling->factor, 32.0f);
  EXPECT_THAT(c.eos_token_ids, ElementsAre(128001));
}

TEST(model_config, rejects_mistral_7b_v0_1_sliding_window_naming_field_and_value) {
  auto c = load_model_config(fixture("Mistral-7B-v0.1"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::unsupported);
  EXPECT_THAT(c.error().message, HasSubstr("config.json"));
  EXPECT_THAT(c.error().message, HasSubstr("\"sliding_window\""));
  EXPECT_THAT(c.error().message, HasSubstr("4096"));
}

TEST(model_config, mistral_7b_v0_3_derives_head_dim_from_hidden_size) {
  model_config c = load_fixture("Mistral-7B-Instruct-v0.3");
  EXPECT_EQ(c.arch, model_arch::mistral);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.vocab_size, 32768);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_THAT(c.eos_token_ids, ElementsAre(2));
}

TEST(model_config, qwen2_5_has_qkv_biases_and_accepts_disabled_sliding_window) {
  model_config c = load_fixture("Qwen2.5-7B-Instruct");
  EXPECT_EQ(c.arch, model_arch::qwen2);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.vocab_size, 152064);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-6f);
}

TEST(model_config, generation_config_eos_list_wins_over_config_eos) {
  model_config c = load_fixture("Qwen2.5-7B-Instruct");
  EXPECT_THAT(c.eos_token_ids, ElementsAre(151645, 151643));
}

TEST(model_config, qwen3_0_6b_has_qk_norm_and_a_head_dim_beyond_hidden_over_heads) {
  model_config c = load_fixture("Qwen3-0.6B");
  EXPECT_EQ(c.arch, model_arch::qwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.hidden_size / c.num_attention_heads, 64);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);  // written as the integer 1000000
  EXPECT_THAT(c.eos_token_ids, ElementsAre(151645, 151643));
}

TEST(model_config, qwen3_8b_is_untied_with_36_layers) {
  model_config c = load_fixture("Qwen3-8B");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.num_hidden_layers, 36);
  EXPECT_EQ(c.intermediate_size, 12288);
  EXPECT_THAT(c.eos_token_ids, ElementsAre(151645));
}

TEST(model_config, reads_shared_stories260k_checkpoints) {
  for (auto [dir, type] : {std::pair{"stories260K", dtype::f32}, std::pair{"stories260K-bf16", dtype::bf16}}) {
    auto c = load_model_config(std::filesystem::path(TROUPE_SHARED_MODELS_DIR) / dir);
    ASSERT_TRUE(c.has_value()) << c.error().to_string();
    EXPECT_EQ(c->hidden_size, 64);
    EXPECT_EQ(c->intermediate_size, 172);
    EXPECT_EQ(c->num_hidden_layers, 5);
    EXPECT_EQ(c->num_attention_heads, 8);
    EXPECT_EQ(c->num_key_value_heads, 4);
    EXPECT_EQ(c->head_dim, 8);
    EXPECT_EQ(c->vocab_size, 512);
    EXPECT_TRUE(c->tie_word_embeddings);
    EXPECT_EQ(c->torch_dtype, type) << dir;
    EXPECT_EQ(c->bos_token_id, 1);
    EXPECT_THAT(c->eos_token_ids, ElementsAre(2));
  }
}

TEST(model_config, rejects_every_rope_scaling_type_but_llama3_naming_it) {
  for (std::string type : {"yarn", "linear", "dynamic", "longrope"}) {
    auto c = parse_edited("Llama-3.1-8B-Instruct", [&](auto& j) { j["rope_scaling"] = {{"rope_type", type}, {"factor", 4.0}}; });
    ASSERT_FALSE(c.has_value()) << type;
    EXPECT_EQ(c.error().code, errc::unsupported);
    EXPECT_THAT(c.error().message, HasSubstr("\"rope_scaling\""));
    EXPECT_THAT(c.error().message, HasSubstr(type));
  }
}

TEST(model_config, accepts_legacy_type_key_for_llama3_rope_scaling) {
  auto c = parse_edited("Llama-3.1-8B-Instruct", [](auto& j) {
    j["rope_scaling"].erase("rope_type");
    j["rope_scaling"]["type"] = "llama3";
  });
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_TRUE(c->rope_scaling.has_value());
}

TEST(model_config, rejects_llama3_rope_scaling_without_its_factors) {
  auto c = parse_edited("Llama-3.1-8B-Instruct", [](auto& j) { j["rope_scaling"].erase("low_freq_factor"); });
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message, HasSubstr("low_freq_factor"));
}

TEST(model_config, rejects_sliding_window_unless_use_sliding_window_is_false) {
  auto c = parse_edited("Qwen2.5-7B-Instruct", [](auto& j) { j["use_sliding_window"] = true; });
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::unsupported);
  EXPECT_THAT(c.error().message, HasSubstr("131072"));
}

TEST(model_config, rejects_mlp_bias) {
  auto c = parse_edited("Llama-3.2-1B", [](auto& j) { j["mlp_bias"] = true; });
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::unsupported);
  EXPECT_THAT(c.error().message, HasSubstr("\"mlp_bias\""));
}

TEST(model_config, rejects_activations_other_than_silu) {
  auto c = parse_edited("Llama-3.2-1B", [](auto& j) { j["hidden_act"] = "gelu_pytorch_tanh"; });
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::unsupported);
  EXPECT_THAT(c.error().message, HasSubstr("gelu_pytorch_tanh"));
}

TEST(model_config, rejects_other_architectures_naming_them) {
  for (std::string arch : {"GPT2LMHeadModel", "MixtralForCausalLM", "Qwen3MoeForCausalLM"}) {
    auto c = parse_edited("Llama-3.2-1B", [&](auto& j) { j["architectures"] = {arch}; });
    ASSERT_FALSE(c.has_value()) << arch;
    EXPECT_EQ(c.error().code, errc::unsupported);
    EXPECT_THAT(c.error().message, HasSubstr(arch));
    EXPECT_THAT(c.error().message, HasSubstr("\"architectures\""));
  }
}

TEST(model_config, falls_back_to_model_type_without_architectures) {
  auto c = parse_edited("Qwen3-8B", [](auto& j) { j.erase("architectures"); });
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->architecture, "Qwen3ForCausalLM");
}

TEST(model_config, rejects_heads_not_divisible_by_kv_heads) {
  auto c = parse_edited("Llama-3.2-1B", [](auto& j) { j["num_key_value_heads"] = 6; });
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message, HasSubstr("\"num_key_value_heads\" (6)"));
  EXPECT_THAT(c.error().message, HasSubstr("(32)"));
}

TEST(model_config, defaults_kv_heads_to_attention_heads) {
  auto c = parse_edited("Mistral-7B-Instruct-v0.3", [](auto& j) { j.erase("num_key_value_heads"); });
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->num_key_value_heads, 32);
}

TEST(model_config, names_file_and_field_of_a_missing_size) {
  auto c = parse_edited("Qwen3-8B", [](auto& j) { j.erase("hidden_size"); });
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::parse_error);
  EXPECT_THAT(c.error().message, HasSubstr("edited/config.json: field \"hidden_size\" is missing"));
}

TEST(model_config, rejects_a_size_of_the_wrong_type) {
  auto c = parse_edited("Qwen3-8B", [](auto& j) { j["num_hidden_layers"] = "36"; });
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message, HasSubstr("\"num_hidden_layers\""));
}

TEST(model_config, rejects_unsupported_torch_dtype) {
  auto c = parse_edited("Qwen3-8B", [](auto& j) { j["torch_dtype"] = "float64"; });
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::unsupported);
  EXPECT_THAT(c.error().message, HasSubstr("float64"));
}

TEST(model_config, rejects_text_that_is_not_json) {
  auto c = parse_model_config("{\"hidden_size\": ", "", "broken/config.json");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::parse_error);
  EXPECT_THAT(c.error().message, HasSubstr("broken/config.json"));
}

TEST(model_config, reports_a_folder_without_config_as_not_found) {
  auto c = load_model_config(fixture("no-such-model"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::not_found);
  EXPECT_THAT(c.error().message, HasSubstr("no-such-model/config.json"));
}

}  // namespace
}  // namespace troupe
