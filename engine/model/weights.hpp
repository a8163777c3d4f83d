// The weights of a decoder-only transformer (Llama, Mistral, Qwen2, Qwen3), resident in a backend.
#pragma once

#include <functional>

#include <vector>

#include "engine/backend/backend.hpp"
#include "engine/model/checkpoint.hpp"
#include "engine/model/model_config.hpp"

namespace troupe {

// One decoder layer. Matrices are [out_features, in_features] in the checkpoint's dtype; vectors
// (norm weights, biases) are f32 1 x n. Optional tensors are empty().
struct layer_weights {
  tensor input_norm;       // [1, hidden]
  tensor q_proj;           // [heads * head_dim, hidden]
  tensor k_proj;           // [kv_heads * head_dim, hidden]
  tensor v_proj;           // [kv_heads * head_dim, hidden]
  tensor q_bias, k_bias, v_bias;  // Qwen2 / attention_bias only
  tensor q_norm, k_norm;   // Qwen3 only: [1, head_dim]
  tensor o_proj;           // [hidden, heads * head_dim]
  tensor o_bias;           // Llama/Qwen3 with attention_bias only: [1, hidden]
  tensor post_attention_norm;  // [1, hidden]
  tensor gate_proj;        // [intermediate, hidden]
  tensor up_proj;          // [intermediate, hidden]
  tensor down_proj;        // [hidden, intermediate]
};

struct model_weights {
  tensor embed_tokens;  // [vocab, hidden]
  std::vector<layer_weights> layers;
  tensor final_norm;    // [1, hidden]
  tensor lm_head;       // [vocab, hidden]; the embedding itself when tie_word_embeddings has no lm_head tensor
  std::vector<device_buffer> vector_storage;  // owns the f32 copies of norm weights and biases
  std::size_t resident_bytes = 0;             // bytes of all weight tensors
};

// Reads every tensor the architecture needs, checking names and shapes against the config; an
// error names the checkpoint file and tensor. Matrices are uploaded as they are (zero-copy on the
// CPU backend), vectors converted to f32 once. `on_progress` (optional) is called after each
// layer with (layers loaded, num_layers, bytes loaded so far).
using load_progress = std::function<void(std::int32_t num_loaded_layers, std::int32_t num_layers, std::size_t num_bytes)>;
result<model_weights> load_weights(const checkpoint& ckpt, const model_config& config, backend& be,
                                   const load_progress& on_progress = {});

}  // namespace troupe
