// troupe run: offline generation in one process, text streamed to stdout, or one JSON object.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/troupe/commands.hpp"
#include "engine/engine.hpp"
#include "engine/prompt_builder.hpp"

namespace troupe::cli {
namespace {

struct run_flags {
  std::string model_dir;
  std::optional<std::string> prompt;
  std::optional<std::string> chat;
  std::optional<std::string> system;
  std::int32_t max_tokens = 256;
  float temperature = 1.0f;
  float top_p = 1.0f;
  std::int32_t top_k = 0;
  std::optional<std::uint64_t> seed;
  std::int32_t logprobs = -1;
  std::int32_t threads = 0;
  std::int32_t max_model_len = 0;
  bool json = false;
};

nlohmann::json logprob_json(const sample_result& r) {
  nlohmann::json top = nlohmann::json::array();
  for (const token_logprob& t : r.top_logprobs) top.push_back({{"token_id", t.token}, {"logprob", t.logprob}});
  return {{"token_id", r.token}, {"logprob", r.logprob}, {"top_logprobs", std::move(top)}};
}

result<std::vector<token_id>> build_prompt(const engine& eng, const run_flags& f) {
  if (f.prompt) return eng.prompts().encode_text(*f.prompt);
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (f.system) messages.push_back({{"role", "system"}, {"content", *f.system}});
  messages.push_back({{"role", "user"}, {"content", *f.chat}});
  return eng.prompts().encode_chat(messages, nullptr);
}

int run(const run_flags& f) {
  auto created = engine::create({.model_dir = f.model_dir, .num_threads = f.threads, .max_num_seqs = 1,
                                 .max_model_len = f.max_model_len});
  if (!created) {
    std::fprintf(stderr, "troupe run: %s\n", created.error().message.c_str());
    return 1;
  }
  engine& eng = **created;
  auto prompt = build_prompt(eng, f);
  if (!prompt) {
    std::fprintf(stderr, "troupe run: %s\n", prompt.error().message.c_str());
    return 2;
  }
  sampling_params sampling{.temperature = f.temperature, .top_p = f.top_p, .top_k = f.top_k, .seed = f.seed,
                           .logprobs = f.json ? std::max(0, f.logprobs) : -1, .max_tokens = f.max_tokens};
  auto id = eng.add_request({.prompt_token_ids = *prompt, .sampling = sampling});
  if (!id) {
    std::fprintf(stderr, "troupe run: %s\n", id.error().message.c_str());
    return 2;
  }
  std::vector<token_id> tokens;
  std::string text;
  nlohmann::json logprobs = nlohmann::json::array();
  std::string finish = "abort";
  while (eng.has_unfinished()) {
    for (const request_output& out : eng.step()) {
      tokens.insert(tokens.end(), out.new_token_ids.begin(), out.new_token_ids.end());
      text += out.new_text;
      for (const sample_result& r : out.new_logprobs) logprobs.push_back(logprob_json(r));
      if (!f.json && !out.new_text.empty()) {
        std::fwrite(out.new_text.data(), 1, out.new_text.size(), stdout);
        std::fflush(stdout);
      }
      if (out.finished) finish = std::string(finish_reason_name(*out.finished));
    }
  }
  if (f.json) {
    const nlohmann::json result{{"prompt_token_ids", *prompt}, {"token_ids", tokens}, {"text", text},
                                {"finish_reason", finish}, {"logprobs", logprobs}};
    std::cout << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::fputs("\n", stdout);
  }
  return 0;
}

}  // namespace

command_main add_run_command(CLI::App& app) {
  auto flags = std::make_shared<run_flags>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a model in this process (no cluster)");
  cmd->add_option("--model", flags->model_dir, "Hugging Face checkpoint folder")->required()->check(CLI::ExistingDirectory);
  auto* prompt = cmd->add_option("--prompt", flags->prompt, "Plain text prompt (the tokenizer adds its special tokens)");
  auto* chat = cmd->add_option("--chat", flags->chat, "A user message, rendered with the model's chat template");
  prompt->excludes(chat);
  cmd->add_option("--system", flags->system, "System message for --chat")->needs(chat);
  cmd->add_option("--max-tokens", flags->max_tokens, "Most tokens to generate")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--temperature", flags->temperature, "Sampling temperature; 0 = greedy");
  cmd->add_option("--top-p", flags->top_p, "Nucleus sampling: smallest set with this probability mass");
  cmd->add_option("--top-k", flags->top_k, "Sample among the k most likely tokens (0 = all)");
  cmd->add_option("--seed", flags->seed, "Seed: the same seed and prompt give the same tokens");
  cmd->add_option("--logprobs", flags->logprobs, "With --json: this many top alternatives per token (0-20)");
  cmd->add_option("--threads", flags->threads, "CPU threads (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-model-len", flags->max_model_len, "Prompt + output limit (0 = model's)");
  cmd->add_flag("--json", flags->json, "Print one JSON object instead of streaming text");
  return [flags, cmd] {
    if (!flags->prompt && !flags->chat) {
      std::fputs("troupe run: give --prompt TEXT or --chat TEXT\n", stderr);
      return 2;
    }
    (void)cmd;
    return run(*flags);
  };
}

}  // namespace troupe::cli
