// troupe make-model: a deterministic random-weight checkpoint at a real model's shapes, with a real
// tokenizer, for tests and benchmarks.
#include <cstdio>
#include <map>
#include <string>

#include <fmt/format.h>

#include "apps/troupe/commands.hpp"
#include "engine/model/random_checkpoint.hpp"

namespace troupe::cli {
namespace {

struct make_model_flags {
  std::string arch;
  std::string size;
  std::string out;
  std::string tokenizer;
  std::string dtype_name = "bf16";
  std::uint64_t seed = 0;
  std::int64_t max_shard_mib = 4096;
  bool tied_lm_head = false;
};

int make_model(const make_model_flags& f) {
  const std::map<std::string, model_arch> archs{{"llama", model_arch::llama}, {"mistral", model_arch::mistral},
                                                {"qwen2", model_arch::qwen2}, {"qwen3", model_arch::qwen3}};
  const std::map<std::string, dtype> dtypes{{"bf16", dtype::bf16}, {"f16", dtype::f16}, {"f32", dtype::f32}};
  random_checkpoint_options options{.arch = archs.at(f.arch), .size = f.size, .type = dtypes.at(f.dtype_name),
                                    .seed = f.seed, .tokenizer_dir = f.tokenizer, .out_dir = f.out,
                                    .max_shard_bytes = f.max_shard_mib << 20,
                                    .write_tied_lm_head = f.tied_lm_head};
  auto written = write_random_checkpoint(options);
  if (!written) {
    std::fprintf(stderr, "troupe make-model: %s\n", written.error().message.c_str());
    return written.error().code == errc::io_error ? 1 : 2;
  }
  const model_config& c = *written;
  std::printf("%s\n", fmt::format("wrote {} ({} {}): {} layers, hidden {}, {} heads / {} kv heads, vocab {}",
                                  f.out, c.architecture, f.size, c.num_hidden_layers, c.hidden_size,
                                  c.num_attention_heads, c.num_key_value_heads, c.vocab_size).c_str());
  return 0;
}

}  // namespace

command_main add_make_model_command(CLI::App& app) {
  auto flags = std::make_shared<make_model_flags>();
  CLI::App* cmd = app.add_subcommand("make-model", "Write a random-weight checkpoint at a real model's shapes");
  cmd->add_option("--arch", flags->arch, "Architecture")->required()->check(CLI::IsMember({"llama", "mistral", "qwen2", "qwen3"}));
  cmd->add_option("--size", flags->size, "tiny, or a real model's size (llama: 1b 8b 70b; mistral: 7b; "
                                         "qwen2: 0.5b 7b; qwen3: 0.6b 8b)")->required();
  cmd->add_option("--out", flags->out, "Output folder")->required();
  cmd->add_option("--tokenizer", flags->tokenizer, "Folder with tokenizer.json and tokenizer_config.json")
      ->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--dtype", flags->dtype_name, "Weight dtype")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  cmd->add_option("--seed", flags->seed, "Random seed (same seed, same bytes)");
  cmd->add_option("--max-shard-mib", flags->max_shard_mib, "Split into model-0000N-of-0000M.safetensors shards above this size")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_flag("--tied-lm-head", flags->tied_lm_head, "Also write lm_head.weight when embeddings are tied");
  return [flags] { return make_model(*flags); };
}

}  // namespace troupe::cli
