#!/usr/bin/python3
"""Independent float32 PyTorch forward pass of the dense architectures troupe serves.

Oracle for troupe's transformer: Llama (incl. Llama 3 rope scaling), Mistral, Qwen2 (q/k/v
biases) and Qwen3 (per-head q_norm/k_norm before RoPE), written from the Hugging Face modeling
code's equations without transformers or safetensors (neither is installed): the checkpoint is
parsed here with json + torch.frombuffer.

  torch_reference.py --model DIR --prompt-ids 1,403,407 [--generate N] [--out FILE.json]

writes {"prompt_token_ids", "logits" (one row per prompt position), "greedy_token_ids" (N greedy
continuations), "greedy_logits" (the logits each greedy token was chosen from)}, logits rounded
to 6 significant digits. Without --out the JSON goes to stdout.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def read_safetensors(path):
    """name -> float32 tensor, for one safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[entry["dtype"]]
        begin, end = entry["data_offsets"]
        count = (end - begin) // size
        flat = torch.frombuffer(bytearray(blob[base + begin:base + end]), dtype=dtype, count=count)
        tensors[name] = flat.reshape(entry["shape"]).to(torch.float32)
    return tensors


def read_checkpoint(model_dir):
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for shard in shards:
        tensors.update(read_safetensors(os.path.join(model_dir, shard)))
    return tensors


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def inv_freq(config, head_dim):
    """As transformers' _compute_default_rope_parameters / _compute_llama3_parameters (float32)."""
    base = float(config.get("rope_theta", 10000.0))
    freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = config.get("rope_scaling")
    if not scaling or scaling.get("rope_type", scaling.get("type")) == "default":
        return freq
    assert scaling.get("rope_type", scaling.get("type")) == "llama3", scaling
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_context / low, old_context / high
    wavelen = 2 * math.pi / freq
    scaled = torch.where(wavelen > low_wavelen, freq / factor, freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(is_medium, smoothed, scaled)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Model:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.config = json.load(f)
        c = self.config
        arch = c["architectures"][0]
        assert arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"), arch
        self.w = read_checkpoint(model_dir)
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads") or self.heads
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = float(c.get("rms_norm_eps", 1e-6))
        self.qk_norm = arch == "Qwen3ForCausalLM"
        self.inv_freq = inv_freq(c, self.head_dim)
        self.lm_head = self.w.get("lm_head.weight")
        if self.lm_head is None:
            assert c.get("tie_word_embeddings"), "no lm_head.weight and tie_word_embeddings is false"
            self.lm_head = self.w["model.embed_tokens.weight"]

    def linear(self, x, name):
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")  # present only where the architecture has one
        return y if bias is None else y + bias

    def attention(self, x, p, cos, sin):
        n = x.shape[0]
        q = self.linear(x, p + "q_proj").view(n, self.heads, self.head_dim)
        k = self.linear(x, p + "k_proj").view(n, self.kv_heads, self.head_dim)
        v = self.linear(x, p + "v_proj").view(n, self.kv_heads, self.head_dim)
        if self.qk_norm:
            q = rms_norm(q, self.w[p + "q_norm.weight"], self.eps)
            k = rms_norm(k, self.w[p + "k_norm.weight"], self.eps)
        q = q * cos[:, None, :] + rotate_half(q) * sin[:, None, :]
        k = k * cos[:, None, :] + rotate_half(k) * sin[:, None, :]
        group = self.heads // self.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(self.head_dim)
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        scores = scores.masked_fill(causal, float("-inf"))
        out = torch.einsum("hqk,khd->qhd", torch.softmax(scores, dim=-1), v).reshape(n, self.heads * self.head_dim)
        return self.linear(out, p + "o_proj")

    def mlp(self, x, p):
        gate = self.linear(x, p + "gate_proj")
        return self.linear(torch.nn.functional.silu(gate) * self.linear(x, p + "up_proj"), p + "down_proj")

    @torch.no_grad()
    def logits(self, token_ids, last_only=False):
        """[len(token_ids), vocab] float32 logits of a causal forward pass from position 0
        ([1, vocab] for the last position only with last_only)."""
        x = self.w["model.embed_tokens.weight"][torch.tensor(token_ids)]
        positions = torch.arange(len(token_ids), dtype=torch.float32)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for layer in range(self.layers):
            p = f"model.layers.{layer}."
            x = x + self.attention(rms_norm(x, self.w[p + "input_layernorm.weight"], self.eps), p + "self_attn.", cos, sin)
            x = x + self.mlp(rms_norm(x, self.w[p + "post_attention_layernorm.weight"], self.eps), p + "mlp.")
        if last_only:
            x = x[-1:]
        return rms_norm(x, self.w["model.norm.weight"], self.eps) @ self.lm_head.T


def rounded(row):
    return [float(f"{v:.6g}") for v in row.tolist()]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="checkpoint folder (config.json + safetensors)")
    parser.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
    parser.add_argument("--generate", type=int, default=0, help="greedy tokens to generate")
    parser.add_argument("--greedy-logit-rows", type=int, default=-1,
                        help="write greedy_logits for the first N greedy steps only (default: all)")
    parser.add_argument("--out", help="output JSON file (default: stdout)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    model = Model(args.model)
    prompt = [int(t) for t in args.prompt_ids.split(",") if t.strip()]
    logits = model.logits(prompt)
    result = {"prompt_token_ids": prompt, "logits": [rounded(r) for r in logits], "greedy_token_ids": [], "greedy_logits": []}
    tokens = list(prompt)
    last = logits[-1]
    for _ in range(args.generate):
        if args.greedy_logit_rows < 0 or len(result["greedy_logits"]) < args.greedy_logit_rows:
            result["greedy_logits"].append(rounded(last))
        next_id = int(torch.argmax(last))
        result["greedy_token_ids"].append(next_id)
        tokens.append(next_id)
        last = model.logits(tokens, last_only=True)[-1]
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
