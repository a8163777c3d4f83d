// troupe tokenize: a model's tokenizer on the command line (as llama-tokenize).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/troupe/commands.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace troupe::cli {
namespace {

struct tokenize_flags {
  std::string model_dir;
  std::string text;
  std::string decode_ids;
  bool json = false;
  bool no_special = false;
};

// "1, 2 3" -> {1, 2, 3}; an error names the first bad entry.
result<std::vector<token_id>> parse_ids(const std::string& text, std::int32_t vocab_size) {
  std::vector<token_id> ids;
  std::string item;
  std::string normalized = text;
  for (char& c : normalized) if (c == ',' || c == '[' || c == ']') c = ' ';
  std::istringstream in(normalized);
  while (in >> item) {
    std::size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || value < 0 || value >= vocab_size) {
      return make_error(errc::invalid_argument, "'{}' is not a token id in [0, {})", item, vocab_size);
    }
    ids.push_back(static_cast<token_id>(value));
  }
  return ids;
}

int tokenize(const tokenize_flags& f) {
  auto tok = tokenizer::load(std::filesystem::path(f.model_dir) / "tokenizer.json");
  if (!tok) {
    std::fprintf(stderr, "troupe tokenize: %s\n", tok.error().message.c_str());
    return 1;
  }
  if (!f.decode_ids.empty()) {
    auto ids = parse_ids(f.decode_ids, tok->vocab_size());
    if (!ids) {
      std::fprintf(stderr, "troupe tokenize: --decode: %s\n", ids.error().message.c_str());
      return 2;
    }
    const std::string text = tok->decode(*ids, /*skip_special_tokens=*/false);
    if (f.json) {
      std::cout << nlohmann::json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      std::cout << text << "\n";
    }
    return 0;
  }
  const std::vector<token_id> ids = tok->encode(f.text, !f.no_special);
  if (f.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (const token_id id : ids) pieces.push_back(std::string(tok->id_to_token(id)));
    std::cout << nlohmann::json{{"token_ids", ids}, {"tokens", pieces}}.dump(-1, ' ', false,
                                                                           nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    for (const token_id id : ids) std::cout << id << " -> '" << tok->id_to_token(id) << "'\n";
  }
  return 0;
}

}  // namespace

command_main add_tokenize_command(CLI::App& app) {
  auto flags = std::make_shared<tokenize_flags>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Token ids of TEXT with a model's tokenizer (or --decode IDS)");
  cmd->add_option("--model", flags->model_dir, "Checkpoint folder with tokenizer.json")->required()->check(CLI::ExistingDirectory);
  auto* text = cmd->add_option("text", flags->text, "Text to encode");
  auto* decode = cmd->add_option("--decode", flags->decode_ids, "Token ids to decode, e.g. \"1,403,407\"");
  text->excludes(decode);
  cmd->add_flag("--json", flags->json, "Print JSON");
  cmd->add_flag("--no-special", flags->no_special, "Do not add the tokenizer's special tokens (BOS)");
  return [flags] { return tokenize(*flags); };
}

}  // namespace troupe::cli
