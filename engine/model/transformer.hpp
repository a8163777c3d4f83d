// The decoder-only transformer of Llama, Mistral, Qwen2 and Qwen3, written once against the
// backend operations. Architecture differences are data (model_config flags and which weights
// exist), not code paths per family.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "engine/backend/backend.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/model_config.hpp"
#include "engine/model/weights.hpp"

namespace troupe {

struct transformer_options {
  std::int32_t max_num_tokens = 2048;  // most tokens in one step (activation buffers)
  std::int32_t max_num_logits = 256;   // most rows of logits in one step
  load_progress on_load_progress;      // optional: called after each layer's weights are loaded
};

// Rotary inverse frequencies for head_dim / 2 pairs, with rope_scaling applied as Hugging Face
// computes them (rope_type "llama3": low/high frequency bands, smooth interpolation between).
std::vector<float> rope_inverse_frequencies(const model_config& config);

class transformer {
 public:
  // Loads the weights into `be` (which must outlive the transformer) and sizes the buffers.
  static result<std::unique_ptr<transformer>> create(const model_config& config, const checkpoint& ckpt,
                                                     backend& be, const transformer_options& options);

  const model_config& config() const { return config_; }
  std::size_t weight_bytes() const { return weights_.resident_bytes; }
  // The KV cache shape for num_blocks blocks of block_size tokens, in the activation dtype.
  kv_cache_shape kv_shape(std::int64_t num_blocks, std::int32_t block_size) const;

  // Runs one step: the tokens of `layout` through every layer, K/V written into `cache`, and the
  // logits of the rows in layout.logits_rows copied to `logits` (row-major
  // [logits_rows.size(), vocab_size]). layout.num_tokens() <= max_num_tokens and
  // logits_rows.size() <= max_num_logits (asserted).
  void forward(const batch_layout& layout, const kv_cache& cache, std::span<float> logits);

 private:
  // Activation buffers, max_num_tokens rows each (views of one allocation).
  struct activations {
    tensor residual, hidden, q, k, v, attn, attn_out, gate, up, act, mlp_out, last_hidden, logits;
  };
  transformer(const model_config& config, backend& be, model_weights weights);
  status allocate_activations(const transformer_options& options);
  void attention_block(std::int32_t layer, std::int64_t num_tokens, const kv_layer& cache);
  void mlp_block(std::int32_t layer, std::int64_t num_tokens);

  model_config config_;
  backend& backend_;
  model_weights weights_;
  rope_table rope_;
  device_buffer rope_storage_;
  device_buffer activation_storage_;
  activations act_;
  transformer_options options_;
};

}  // namespace troupe
