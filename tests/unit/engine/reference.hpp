// Test support: tiny random-weight checkpoints (troupe make-model's code) and the independent
// PyTorch reference forward pass (scripts/torch_reference.py, Debian's python3-torch) as oracle.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/common/ids.hpp"
#include "engine/model/model_config.hpp"

namespace troupe::testing {

// A tiny checkpoint of `arch` written once per test process under the build tree.
// dtype: "bf16", "f16" or "f32".
std::filesystem::path tiny_model(model_arch arch, const std::string& dtype_name, bool tied_lm_head = false);

// The tiny Llama with attention_bias: true (q/k/v and o_proj biases), written once per process.
std::filesystem::path tiny_llama_with_attention_bias();

// The shared trained checkpoints (../shared/models/stories260K and -bf16).
std::filesystem::path shared_model(const std::string& name);

struct reference_run {
  std::vector<token_id> prompt_token_ids;
  std::vector<std::vector<float>> prompt_logits;  // one row per prompt position
  std::vector<token_id> greedy_token_ids;
  std::vector<std::vector<float>> greedy_logits;  // logits that chose each greedy token after the first
};

// Runs scripts/torch_reference.py; fails the calling test (and returns empty) on any error.
// greedy_logits holds the first num_logit_rows steps (all when negative): with 150k-token
// vocabularies the JSON of every step would dominate the test's time.
reference_run run_torch_reference(const std::filesystem::path& model_dir, const std::vector<token_id>& prompt,
                                  int num_generate, int num_logit_rows = -1);

}  // namespace troupe::testing
