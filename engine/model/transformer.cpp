#include "engine/model/transformer.hpp"

#include <cassert>
#include <cmath>
#include <numbers>

namespace troupe {
namespace {

// Views the next rows x cols block of a bump-allocated activation region.
tensor take(std::byte*& cursor, std::int64_t rows, std::int64_t cols) {
  tensor t = tensor::contiguous(cursor, dtype::f32, rows, cols);
  // Keep every buffer 64-byte aligned for vector loads.
  const std::size_t bytes = (static_cast<std::size_t>(rows * cols) * sizeof(float) + 63) & ~std::size_t{63};
  cursor += bytes;
  return t;
}

std::size_t padded_bytes(std::int64_t rows, std::int64_t cols) {
  return (static_cast<std::size_t>(rows * cols) * sizeof(float) + 63) & ~std::size_t{63};
}

}  // namespace

std::vector<float> rope_inverse_frequencies(const model_config& c) {
  const std::int32_t num_pairs = c.head_dim / 2;
  std::vector<float> inv_freq(static_cast<std::size_t>(num_pairs));
  for (std::int32_t i = 0; i < num_pairs; ++i) {
    const double exponent = static_cast<double>(2 * i) / c.head_dim;
    inv_freq[static_cast<std::size_t>(i)] = static_cast<float>(1.0 / std::pow(c.rope_theta, exponent));
  }
  if (!c.rope_scaling) return inv_freq;
  // rope_type "llama3": long wavelengths are divided by `factor`, short ones kept, and the band in
  // between interpolated smoothly (Hugging Face _compute_llama3_parameters).
  const llama3_rope_scaling& s = *c.rope_scaling;
  const double old_len = s.original_max_position_embeddings;
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  for (float& f : inv_freq) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_freq_wavelen) {
      f = static_cast<float>(f / s.factor);
    } else if (wavelen >= high_freq_wavelen) {
      const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      f = static_cast<float>((1.0 - smooth) * f / s.factor + smooth * f);
    }
  }
  return inv_freq;
}

transformer::transformer(const model_config& config, backend& be, model_weights weights)
    : config_(config), backend_(be), weights_(std::move(weights)) {}

result<std::unique_ptr<transformer>> transformer::create(const model_config& config, const checkpoint& ckpt,
                                                         backend& be, const transformer_options& options) {
  if (options.max_num_tokens <= 0 || options.max_num_logits <= 0) {
    return make_error(errc::invalid_argument, "transformer needs max_num_tokens > 0 and max_num_logits > 0");
  }
  TROUPE_ASSIGN_OR_RETURN(model_weights weights, load_weights(ckpt, config, be, options.on_load_progress));
  std::unique_ptr<transformer> model(new transformer(config, be, std::move(weights)));
  model->options_ = options;

  const std::vector<float> inv_freq = rope_inverse_frequencies(config);
  const auto num_pairs = static_cast<std::int64_t>(inv_freq.size());
  TROUPE_ASSIGN_OR_RETURN(model->rope_storage_, be.allocate(inv_freq.size() * sizeof(float)));
  model->rope_.inv_freq = model->rope_storage_.as_tensor(dtype::f32, 1, num_pairs);
  model->rope_.head_dim = config.head_dim;
  be.write(model->rope_.inv_freq, inv_freq.data());

  TROUPE_RETURN_IF_ERROR(model->allocate_activations(options));
  return model;
}

status transformer::allocate_activations(const transformer_options& options) {
  const std::int64_t t = options.max_num_tokens;
  const std::int64_t n = options.max_num_logits;
  const std::int64_t hidden = config_.hidden_size;
  const std::int64_t q_dim = std::int64_t{config_.num_attention_heads} * config_.head_dim;
  const std::int64_t kv_dim = std::int64_t{config_.num_key_value_heads} * config_.head_dim;
  const std::int64_t inter = config_.intermediate_size;
  const std::size_t total = 4 * padded_bytes(t, hidden) + 2 * padded_bytes(t, q_dim) +
                            2 * padded_bytes(t, kv_dim) + 3 * padded_bytes(t, inter) +
                            padded_bytes(n, hidden) + padded_bytes(n, config_.vocab_size);
  TROUPE_ASSIGN_OR_RETURN(activation_storage_, backend_.allocate(total));
  auto* cursor = static_cast<std::byte*>(activation_storage_.data());
  act_.residual = take(cursor, t, hidden);
  act_.hidden = take(cursor, t, hidden);
  act_.attn_out = take(cursor, t, hidden);
  act_.mlp_out = take(cursor, t, hidden);
  act_.q = take(cursor, t, q_dim);
  act_.attn = take(cursor, t, q_dim);
  act_.k = take(cursor, t, kv_dim);
  act_.v = take(cursor, t, kv_dim);
  act_.gate = take(cursor, t, inter);
  act_.up = take(cursor, t, inter);
  act_.act = take(cursor, t, inter);
  act_.last_hidden = take(cursor, n, hidden);
  act_.logits = take(cursor, n, config_.vocab_size);
  return ok();
}

kv_cache_shape transformer::kv_shape(std::int64_t num_blocks, std::int32_t block_size) const {
  return kv_cache_shape{.num_layers = config_.num_hidden_layers,
                        .num_blocks = num_blocks,
                        .block_size = block_size,
                        .num_kv_heads = config_.num_key_value_heads,
                        .head_dim = config_.head_dim,
                        .type = backend_.activation_dtype()};
}

// hidden (normalised residual) -> q, k, v -> rope -> cache -> attention -> o_proj -> attn_out.
void transformer::attention_block(std::int32_t layer, std::int64_t num_tokens, const kv_layer& cache) {
  const layer_weights& w = weights_.layers[static_cast<std::size_t>(layer)];
  const tensor hidden = act_.hidden.slice_rows(0, num_tokens);
  const tensor q = act_.q.slice_rows(0, num_tokens);
  const tensor k = act_.k.slice_rows(0, num_tokens);
  const tensor v = act_.v.slice_rows(0, num_tokens);
  const tensor attn = act_.attn.slice_rows(0, num_tokens);
  backend_.linear(q, hidden, w.q_proj, w.q_bias);
  backend_.linear(k, hidden, w.k_proj, w.k_bias);
  backend_.linear(v, hidden, w.v_proj, w.v_bias);
  if (config_.qk_norm) {
    backend_.head_rms_norm(q, w.q_norm, config_.rms_norm_eps);
    backend_.head_rms_norm(k, w.k_norm, config_.rms_norm_eps);
  }
  backend_.rope(q, rope_);
  backend_.rope(k, rope_);
  backend_.write_kv(cache, k, v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(config_.head_dim));
  backend_.attention(attn, q, cache, config_.num_attention_heads, config_.num_key_value_heads,
                     config_.head_dim, scale);
  backend_.linear(act_.attn_out.slice_rows(0, num_tokens), attn, w.o_proj, w.o_bias);
}

// hidden -> silu(gate) * up -> down_proj -> mlp_out.
void transformer::mlp_block(std::int32_t layer, std::int64_t num_tokens) {
  const layer_weights& w = weights_.layers[static_cast<std::size_t>(layer)];
  const tensor hidden = act_.hidden.slice_rows(0, num_tokens);
  const tensor gate = act_.gate.slice_rows(0, num_tokens);
  const tensor up = act_.up.slice_rows(0, num_tokens);
  const tensor act = act_.act.slice_rows(0, num_tokens);
  backend_.linear(gate, hidden, w.gate_proj, tensor{});
  backend_.linear(up, hidden, w.up_proj, tensor{});
  backend_.silu_mul(act, gate, up);
  backend_.linear(act_.mlp_out.slice_rows(0, num_tokens), act, w.down_proj, tensor{});
}

// The residual stream: x = embed; per layer x += attn(norm(x)); x += mlp(norm(x)); logits =
// lm_head(norm(x)) for the sampled rows. Each residual add is fused into the next norm.
void transformer::forward(const batch_layout& layout, const kv_cache& cache, std::span<float> logits) {
  const std::int64_t num_tokens = layout.num_tokens();
  const auto num_logits = static_cast<std::int64_t>(layout.logits_rows.size());
  assert(num_tokens > 0 && num_tokens <= options_.max_num_tokens);
  assert(num_logits <= options_.max_num_logits);
  assert(logits.size() >= static_cast<std::size_t>(num_logits * config_.vocab_size));
  const float eps = config_.rms_norm_eps;
  const tensor residual = act_.residual.slice_rows(0, num_tokens);
  const tensor hidden = act_.hidden.slice_rows(0, num_tokens);
  const tensor attn_out = act_.attn_out.slice_rows(0, num_tokens);
  const tensor mlp_out = act_.mlp_out.slice_rows(0, num_tokens);

  backend_.begin_step(layout);
  backend_.embed(residual, weights_.embed_tokens);
  for (std::int32_t i = 0; i < config_.num_hidden_layers; ++i) {
    const layer_weights& w = weights_.layers[static_cast<std::size_t>(i)];
    if (i == 0) {
      backend_.rms_norm(hidden, residual, w.input_norm, eps);
    } else {
      backend_.add_rms_norm(hidden, residual, mlp_out, w.input_norm, eps);
    }
    attention_block(i, num_tokens, cache.layers[static_cast<std::size_t>(i)]);
    backend_.add_rms_norm(hidden, residual, attn_out, w.post_attention_norm, eps);
    mlp_block(i, num_tokens);
  }
  backend_.add_rms_norm(hidden, residual, mlp_out, weights_.final_norm, eps);
  if (num_logits == 0) return;
  const tensor last = act_.last_hidden.slice_rows(0, num_logits);
  const tensor out = act_.logits.slice_rows(0, num_logits);
  backend_.gather_rows(last, hidden);
  backend_.linear(out, last, weights_.lm_head, tensor{});
  backend_.read(logits.data(), out);
}

}  // namespace troupe
