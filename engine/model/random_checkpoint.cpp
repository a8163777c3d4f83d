#include "engine/model/random_checkpoint.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/model/checkpoint_writer.hpp"
#include "engine/model/hf_config_writer.hpp"
#include "engine/model/model_presets.hpp"

namespace troupe {
namespace {

using json = nlohmann::json;

// What a checkpoint needs to know about its tokenizer.
struct tokenizer_facts {
  std::int32_t vocab_end = 0;  // 1 + the largest id, added tokens included
  std::optional<token_id> bos;
  std::vector<token_id> eos;
};

result<json> read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::not_found, "cannot open {} (make-model needs the tokenizer's files)", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  json parsed = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return make_error(errc::parse_error, "{}: not a JSON object", path.string());
  return parsed;
}

// The id of `content` in tokenizer.json (added tokens first, then the model's vocab).
std::optional<token_id> token_of(const json& tokenizer, std::string_view content) {
  for (const json& added : tokenizer.value("added_tokens", json::array())) {
    if (added.is_object() && added.value("content", "") == content && added.value("id", json()).is_number_integer()) {
      return added["id"].get<token_id>();
    }
  }
  auto model = tokenizer.find("model");
  if (model == tokenizer.end() || !model->is_object()) return std::nullopt;
  auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) return std::nullopt;
  auto it = vocab->find(content);
  if (it != vocab->end() && it->is_number_integer()) return it->get<token_id>();
  return std::nullopt;
}

// tokenizer_config.json's "bos_token"/"eos_token": a string or {"content": ...}.
std::optional<std::string> special_token(const json& tokenizer_config, std::string_view field) {
  auto it = tokenizer_config.find(field);
  if (it == tokenizer_config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->value("content", json()).is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

result<std::int32_t> vocab_end(const json& tokenizer, const std::filesystem::path& file) {
  std::int64_t end = 0;
  auto model = tokenizer.find("model");
  if (model == tokenizer.end() || !model->is_object() || !model->contains("vocab")) {
    return make_error(errc::parse_error, "{}: field \"model.vocab\" is missing", file.string());
  }
  const json& vocab = (*model)["vocab"];
  if (vocab.is_array()) end = static_cast<std::int64_t>(vocab.size());  // Unigram: [piece, score] by id
  for (const json& id : vocab.is_object() ? vocab : json::object()) {
    if (id.is_number_integer()) end = std::max(end, id.get<std::int64_t>() + 1);
  }
  for (const json& added : tokenizer.value("added_tokens", json::array())) {
    if (added.is_object() && added.value("id", json()).is_number_integer()) end = std::max(end, added["id"].get<std::int64_t>() + 1);
  }
  if (end <= 0 || end > std::numeric_limits<std::int32_t>::max()) {
    return make_error(errc::parse_error, "{}: no usable token ids (vocab end {})", file.string(), end);
  }
  return static_cast<std::int32_t>(end);
}

result<tokenizer_facts> read_tokenizer_facts(const std::filesystem::path& dir, model_arch arch) {
  TROUPE_ASSIGN_OR_RETURN(json tokenizer, read_json(dir / "tokenizer.json"));
  TROUPE_ASSIGN_OR_RETURN(json tokenizer_config, read_json(dir / "tokenizer_config.json"));
  tokenizer_facts facts;
  TROUPE_ASSIGN_OR_RETURN(facts.vocab_end, vocab_end(tokenizer, dir / "tokenizer.json"));
  if (auto bos = special_token(tokenizer_config, "bos_token")) facts.bos = token_of(tokenizer, *bos);
  // Qwen has no BOS token but its configs name <|endoftext|> as bos_token_id.
  if (!facts.bos && (arch == model_arch::qwen2 || arch == model_arch::qwen3)) facts.bos = token_of(tokenizer, "<|endoftext|>");
  auto add_eos = [&](std::string_view content) {
    auto id = token_of(tokenizer, content);
    if (id && std::find(facts.eos.begin(), facts.eos.end(), *id) == facts.eos.end()) facts.eos.push_back(*id);
  };
  if (auto eos = special_token(tokenizer_config, "eos_token")) add_eos(*eos);
  // End-of-turn/text tokens that the released generation_config.json files also stop on.
  for (std::string_view end_token : {"<|end_of_text|>", "<|eom_id|>", "<|eot_id|>", "<|im_end|>", "<|endoftext|>"}) add_eos(end_token);
  return facts;
}

status write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return make_error(errc::io_error, "cannot write {}", path.string());
  return ok();
}

// Weight files of an earlier run, which would shadow or mix with the new ones.
status remove_old_weights(const std::filesystem::path& dir) {
  static const std::regex shard_name(R"(model-\d{5}-of-\d{5}\.safetensors|model\.safetensors(\.index\.json)?)");
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (std::regex_match(entry.path().filename().string(), shard_name)) std::filesystem::remove(entry.path(), ec);
    if (ec) return make_error(errc::io_error, "cannot remove {}: {}", entry.path().string(), ec.message());
  }
  if (ec) return make_error(errc::io_error, "cannot list {}: {}", dir.string(), ec.message());
  return ok();
}

status prepare_out_dir(const random_checkpoint_options& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create {}: {}", options.out_dir.string(), ec.message());
  TROUPE_RETURN_IF_ERROR(remove_old_weights(options.out_dir));
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"}) {
    if (std::filesystem::equivalent(options.tokenizer_dir / name, options.out_dir / name, ec)) continue;
    std::filesystem::copy_file(options.tokenizer_dir / name, options.out_dir / name,
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return make_error(errc::io_error, "cannot copy {} to {}: {}", (options.tokenizer_dir / name).string(),
                              options.out_dir.string(), ec.message());
  }
  return ok();
}

}  // namespace

std::vector<std::string> random_checkpoint_sizes(model_arch arch) { return model_preset_sizes(arch); }

result<model_config> write_random_checkpoint(const random_checkpoint_options& options) {
  if (options.out_dir.empty()) return make_error(errc::invalid_argument, "make-model needs an output folder");
  if (options.tokenizer_dir.empty()) return make_error(errc::invalid_argument, "make-model needs a tokenizer folder");
  if (options.max_shard_bytes <= 0) {
    return make_error(errc::invalid_argument, "max_shard_bytes must be positive, got {}", options.max_shard_bytes);
  }
  TROUPE_ASSIGN_OR_RETURN(model_config config, model_preset(options.arch, options.size));
  TROUPE_ASSIGN_OR_RETURN(tokenizer_facts facts, read_tokenizer_facts(options.tokenizer_dir, options.arch));
  if (config.vocab_size == 0) config.vocab_size = facts.vocab_end;
  if (facts.vocab_end > config.vocab_size) {
    return make_error(errc::invalid_argument, "tokenizer {} has ids up to {} but {} {} has vocab_size {}",
                      (options.tokenizer_dir / "tokenizer.json").string(), facts.vocab_end - 1, model_arch_name(options.arch),
                      options.size, config.vocab_size);
  }
  config.torch_dtype = options.type;
  config.bos_token_id = facts.bos;
  config.eos_token_ids = facts.eos;
  TROUPE_RETURN_IF_ERROR(prepare_out_dir(options));
  TROUPE_RETURN_IF_ERROR(write_text(options.out_dir / "config.json", hf_config_json(config)));
  TROUPE_RETURN_IF_ERROR(write_text(options.out_dir / "generation_config.json", hf_generation_config_json(config)));
  TROUPE_RETURN_IF_ERROR(write_random_weights(hf_tensor_layout(config, options.write_tied_lm_head),
                                              {.type = options.type, .seed = options.seed, .max_shard_bytes = options.max_shard_bytes,
                                               .out_dir = options.out_dir}));
  return config;
}

}  // namespace troupe
