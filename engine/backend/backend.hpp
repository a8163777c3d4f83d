// The operations a device backend provides; the transformer (engine/model) is written once against
// them. Implemented by the CPU backend (engine/backend/cpu) and, later, the CUDA backend.
//
// Contract shared by every operation:
//  - Tensors live in this backend's memory (allocate(), upload_weight(), allocate_kv()).
//  - Activations are in activation_dtype() (f32 on CPU); weights may be f32, f16 or bf16 and are
//    widened to the activation type inside the operation, accumulating in f32.
//  - Operations are issued in order; on asynchronous backends they may still be running when the
//    call returns. read() waits for everything issued before it.
//  - Shapes are checked by the caller (the model); backends assert them in debug builds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/backend/tensor.hpp"
#include "engine/common/result.hpp"

namespace troupe {

class backend;

// Bytes owned in a backend's memory; freed when destroyed. Move-only, one owner.
class device_buffer {
 public:
  device_buffer() = default;
  device_buffer(backend* owner, void* data, std::size_t size_bytes)
      : owner_(owner), data_(data), size_bytes_(size_bytes) {}
  device_buffer(device_buffer&& other) noexcept { swap(other); }
  device_buffer& operator=(device_buffer&& other) noexcept {
    device_buffer moved(std::move(other));
    swap(moved);
    return *this;
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer();

  void* data() const { return data_; }
  std::size_t size_bytes() const { return size_bytes_; }
  // A contiguous rows x cols view of the start of this buffer.
  tensor as_tensor(dtype type, std::int64_t rows, std::int64_t cols) const;

 private:
  void swap(device_buffer& other) noexcept;
  backend* owner_ = nullptr;
  void* data_ = nullptr;
  std::size_t size_bytes_ = 0;
};

// Where each token of a step sits: which sequence, which position, which KV slot. Host memory,
// owned by the caller and valid until the next begin_step(). Built by the engine each step.
//
//   tokens of a step:  [ seq0: t t t t | seq1: t | seq2: t t ]     num_tokens = 7
//   query_start:       [ 0,              4,       5,        7 ]   (num_seqs + 1 entries)
//   context_lens:      tokens in the KV cache of each sequence after this step, new ones included
//   block_tables:      num_seqs rows of max_blocks_per_seq block ids (unused entries: -1)
//   slot_mapping[t]:   block_id * block_size + offset where token t's K and V are written; a negative
//                      slot (a padding token) is not written
struct batch_layout {
  std::span<const std::int32_t> token_ids;     // [num_tokens]
  std::span<const std::int32_t> positions;     // [num_tokens], position of each token in its sequence
  std::span<const std::int64_t> slot_mapping;  // [num_tokens]
  std::span<const std::int32_t> query_start;   // [num_seqs + 1]
  std::span<const std::int32_t> context_lens;  // [num_seqs]
  std::span<const std::int32_t> block_tables;  // [num_seqs * max_blocks_per_seq]
  std::int32_t max_blocks_per_seq = 0;
  std::int32_t block_size = 16;
  std::span<const std::int32_t> logits_rows;   // token indices whose logits are computed (sampling)

  std::int64_t num_tokens() const { return static_cast<std::int64_t>(token_ids.size()); }
  std::int64_t num_seqs() const { return static_cast<std::int64_t>(context_lens.size()); }
};

// Shape of the paged KV cache of one model (one shard of it under tensor parallelism).
struct kv_cache_shape {
  std::int32_t num_layers = 0;
  std::int64_t num_blocks = 0;
  std::int32_t block_size = 16;
  std::int32_t num_kv_heads = 0;
  std::int32_t head_dim = 0;
  dtype type = dtype::f32;

  std::int64_t num_slots() const { return num_blocks * block_size; }
  // K and V bytes of one block in one layer.
  std::size_t block_bytes_per_layer() const {
    return 2 * static_cast<std::size_t>(block_size) * num_kv_heads * head_dim * dtype_size_bytes(type);
  }
};

// K and V of one layer: [num_slots, num_kv_heads * head_dim] each, slot = block * block_size + offset.
struct kv_layer {
  tensor k;
  tensor v;
};

// The whole cache, owned: one buffer, num_layers kv_layer views into it.
struct kv_cache {
  kv_cache_shape shape;
  device_buffer storage;
  std::vector<kv_layer> layers;
};

// Rotary embedding table: inverse frequencies (1 x head_dim/2, f32) already scaled by the model's
// rope_scaling; rotation in the "rotate half" (GPT-NeoX / Hugging Face Llama) convention.
struct rope_table {
  tensor inv_freq;
  std::int32_t head_dim = 0;
};

class backend {
 public:
  virtual ~backend() = default;

  virtual std::string_view name() const = 0;  // "cpu", "cuda:0"
  virtual dtype activation_dtype() const = 0;

  // --- memory -------------------------------------------------------------------------------
  // Uninitialised bytes in this backend's memory, aligned to at least 64 bytes.
  virtual result<device_buffer> allocate(std::size_t size_bytes) = 0;
  // Makes a host weight tensor usable by the operations. `host` must stay valid as long as the
  // returned tensor is used (backends that share host memory return a view of it without a copy).
  // The backend keeps any copy it makes until it is destroyed.
  virtual result<tensor> upload_weight(const tensor& host) = 0;
  // A zeroed KV cache of the given shape.
  virtual result<kv_cache> allocate_kv(const kv_cache_shape& shape) = 0;
  // Copies host bytes into a tensor of this backend / a tensor into host memory (waits).
  virtual void write(const tensor& dst, const void* host_src) = 0;
  virtual void read(void* host_dst, const tensor& src) = 0;

  // --- one forward step ----------------------------------------------------------------------
  // Declares the layout of the step that the following operations belong to.
  virtual void begin_step(const batch_layout& layout) = 0;

  // out[t] = table[token_ids[t]]                     out: [num_tokens, hidden], table: [vocab, hidden]
  virtual void embed(const tensor& out, const tensor& table) = 0;
  // out = x / rms(x) * weight, row-wise                out, x: [n, d], weight: [1, d]; out may alias x
  virtual void rms_norm(const tensor& out, const tensor& x, const tensor& weight, float eps) = 0;
  // residual += delta; out = rms_norm(residual)       fused; all [n, d], weight [1, d]
  virtual void add_rms_norm(const tensor& out, const tensor& residual, const tensor& delta,
                            const tensor& weight, float eps) = 0;
  // In place, each head_dim-wide group of x normalised with weight [1, head_dim] (Qwen3 q/k norm).
  virtual void head_rms_norm(const tensor& x, const tensor& weight, float eps) = 0;
  // out = x @ weight^T (+ bias)                      x: [n, k], weight: [m, k], bias: [1, m] or empty
  virtual void linear(const tensor& out, const tensor& x, const tensor& weight, const tensor& bias) = 0;
  // In place rotary embedding of every head of x ([num_tokens, heads * head_dim]) at positions.
  virtual void rope(const tensor& x, const rope_table& table) = 0;
  // Writes k, v ([num_tokens, kv_heads * head_dim]) into the layer's cache at slot_mapping.
  virtual void write_kv(const kv_layer& cache, const tensor& k, const tensor& v) = 0;
  // Causal attention of each sequence's queries over its cached K/V (block tables), GQA: query
  // head h reads kv head h / (num_heads / num_kv_heads). q, out: [num_tokens, num_heads * head_dim].
  virtual void attention(const tensor& out, const tensor& q, const kv_layer& cache,
                         std::int32_t num_heads, std::int32_t num_kv_heads, std::int32_t head_dim,
                         float scale) = 0;
  // out = silu(gate) * up                            all [n, intermediate]
  virtual void silu_mul(const tensor& out, const tensor& gate, const tensor& up) = 0;
  // out[i] = x[logits_rows[i]]                       out: [num_logits, d]
  virtual void gather_rows(const tensor& out, const tensor& x) = 0;

 protected:
  friend class device_buffer;
  virtual void deallocate(void* data, std::size_t size_bytes) = 0;
};

}  // namespace troupe
