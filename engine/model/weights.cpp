#include "engine/model/weights.hpp"

#include <cstring>
#include <string>

#include <fmt/format.h>

#include "engine/common/half.hpp"
#include "engine/model/model_presets.hpp"

namespace troupe {
namespace {

// Loads one matrix [rows, cols] as it is stored.
result<tensor> load_matrix(const checkpoint& ckpt, backend& be, const std::string& name,
                           std::int64_t rows, std::int64_t cols, std::size_t& resident_bytes) {
  TROUPE_ASSIGN_OR_RETURN(tensor host, ckpt.get(name, rows, cols));
  TROUPE_ASSIGN_OR_RETURN(tensor dev, be.upload_weight(host));
  resident_bytes += host.size_bytes();
  return dev;
}

// Loads a 1-D tensor of n elements and converts it to f32 in backend memory.
result<tensor> load_vector(const checkpoint& ckpt, backend& be, const std::string& name,
                           std::int64_t n, model_weights& weights) {
  TROUPE_ASSIGN_OR_RETURN(tensor host, ckpt.get(name, 1, n));
  std::vector<float> values(static_cast<std::size_t>(n));
  to_f32(host, values.data());
  TROUPE_ASSIGN_OR_RETURN(device_buffer buffer, be.allocate(values.size() * sizeof(float)));
  tensor dev = buffer.as_tensor(dtype::f32, 1, n);
  be.write(dev, values.data());
  weights.vector_storage.push_back(std::move(buffer));
  weights.resident_bytes += host.size_bytes();
  return dev;
}

result<layer_weights> load_layer(const checkpoint& ckpt, const model_config& c, backend& be,
                                 std::int32_t index, model_weights& weights) {
  const std::string prefix = fmt::format("model.layers.{}.", index);
  const std::int64_t hidden = c.hidden_size;
  const std::int64_t q_dim = std::int64_t{c.num_attention_heads} * c.head_dim;
  const std::int64_t kv_dim = std::int64_t{c.num_key_value_heads} * c.head_dim;
  std::size_t& bytes = weights.resident_bytes;
  layer_weights l;
  TROUPE_ASSIGN_OR_RETURN(l.input_norm, load_vector(ckpt, be, prefix + "input_layernorm.weight", hidden, weights));
  TROUPE_ASSIGN_OR_RETURN(l.q_proj, load_matrix(ckpt, be, prefix + "self_attn.q_proj.weight", q_dim, hidden, bytes));
  TROUPE_ASSIGN_OR_RETURN(l.k_proj, load_matrix(ckpt, be, prefix + "self_attn.k_proj.weight", kv_dim, hidden, bytes));
  TROUPE_ASSIGN_OR_RETURN(l.v_proj, load_matrix(ckpt, be, prefix + "self_attn.v_proj.weight", kv_dim, hidden, bytes));
  if (c.attention_bias) {
    TROUPE_ASSIGN_OR_RETURN(l.q_bias, load_vector(ckpt, be, prefix + "self_attn.q_proj.bias", q_dim, weights));
    TROUPE_ASSIGN_OR_RETURN(l.k_bias, load_vector(ckpt, be, prefix + "self_attn.k_proj.bias", kv_dim, weights));
    TROUPE_ASSIGN_OR_RETURN(l.v_bias, load_vector(ckpt, be, prefix + "self_attn.v_proj.bias", kv_dim, weights));
  }
  if (c.qk_norm) {
    TROUPE_ASSIGN_OR_RETURN(l.q_norm, load_vector(ckpt, be, prefix + "self_attn.q_norm.weight", c.head_dim, weights));
    TROUPE_ASSIGN_OR_RETURN(l.k_norm, load_vector(ckpt, be, prefix + "self_attn.k_norm.weight", c.head_dim, weights));
  }
  TROUPE_ASSIGN_OR_RETURN(l.o_proj, load_matrix(ckpt, be, prefix + "self_attn.o_proj.weight", hidden, q_dim, bytes));
  if (has_o_proj_bias(c)) {
    TROUPE_ASSIGN_OR_RETURN(l.o_bias, load_vector(ckpt, be, prefix + "self_attn.o_proj.bias", hidden, weights));
  }
  TROUPE_ASSIGN_OR_RETURN(l.post_attention_norm,
                          load_vector(ckpt, be, prefix + "post_attention_layernorm.weight", hidden, weights));
  const std::int64_t inter = c.intermediate_size;
  TROUPE_ASSIGN_OR_RETURN(l.gate_proj, load_matrix(ckpt, be, prefix + "mlp.gate_proj.weight", inter, hidden, bytes));
  TROUPE_ASSIGN_OR_RETURN(l.up_proj, load_matrix(ckpt, be, prefix + "mlp.up_proj.weight", inter, hidden, bytes));
  TROUPE_ASSIGN_OR_RETURN(l.down_proj, load_matrix(ckpt, be, prefix + "mlp.down_proj.weight", hidden, inter, bytes));
  return l;
}

}  // namespace

result<model_weights> load_weights(const checkpoint& ckpt, const model_config& c, backend& be,
                                   const load_progress& on_progress) {
  model_weights w;
  TROUPE_ASSIGN_OR_RETURN(w.embed_tokens, load_matrix(ckpt, be, "model.embed_tokens.weight", c.vocab_size,
                                                      c.hidden_size, w.resident_bytes));
  for (std::int32_t i = 0; i < c.num_hidden_layers; ++i) {
    TROUPE_ASSIGN_OR_RETURN(layer_weights layer, load_layer(ckpt, c, be, i, w));
    w.layers.push_back(layer);
    if (on_progress) on_progress(i + 1, c.num_hidden_layers, w.resident_bytes);
  }
  TROUPE_ASSIGN_OR_RETURN(w.final_norm, load_vector(ckpt, be, "model.norm.weight", c.hidden_size, w));
  // Tied models usually omit lm_head.weight; when a checkpoint carries it anyway, use it.
  if (ckpt.find("lm_head.weight") != nullptr || !c.tie_word_embeddings) {
    TROUPE_ASSIGN_OR_RETURN(w.lm_head, load_matrix(ckpt, be, "lm_head.weight", c.vocab_size, c.hidden_size,
                                                   w.resident_bytes));
  } else {
    w.lm_head = w.embed_tokens;
  }
  return w;
}

}  // namespace troupe
