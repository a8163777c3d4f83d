#include "engine/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer_state.hpp"
#include "engine/tokenizer/utf8.hpp"

namespace troupe {
namespace {

using tokenizer_detail::tokenizer_state;

result<std::string> read_file(const std::filesystem::path& file, std::string_view what) {
  std::error_code code;
  if (!std::filesystem::is_regular_file(file, code)) {
    return make_error(errc::not_found, "{} '{}' does not exist or is not a file", what,
                      file.string());
  }
  std::ifstream stream(file, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  if (!stream) return make_error(errc::io_error, "cannot read {} '{}'", what, file.string());
  return contents.str();
}

// Reads the post-processor's ids around the text: TemplateProcessing "single", ByteLevel (ids
// unchanged), a Sequence of those, or null.
status add_post_processor(const nlohmann::json& spec, tokenizer_state& state) {
  if (spec.is_null()) return ok();
  std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& child : spec.at("processors"))
      TROUPE_RETURN_IF_ERROR(add_post_processor(child, state));
    return ok();
  }
  if (type == "ByteLevel") return ok();  // changes offsets only
  if (type != "TemplateProcessing") {
    return make_error(errc::unsupported, "{}: post_processor type '{}' is not supported",
                      state.file.string(), type);
  }
  std::vector<token_id> prefix;
  std::vector<token_id> suffix;
  bool seen_sequence = false;
  for (const auto& item : spec.at("single")) {
    if (item.contains("Sequence")) {
      if (seen_sequence || item.at("Sequence").at("id").get<std::string>() != "A") {
        return make_error(errc::parse_error,
                          "{}: post_processor single template {} must hold sequence A once",
                          state.file.string(), spec.at("single").dump());
      }
      seen_sequence = true;
      continue;
    }
    std::string name = item.at("SpecialToken").at("id").get<std::string>();
    auto special = spec.at("special_tokens").find(name);
    if (special == spec.at("special_tokens").end()) {
      return make_error(errc::parse_error,
                        "{}: post_processor special token '{}' is not in special_tokens",
                        state.file.string(), name);
    }
    auto& target = seen_sequence ? suffix : prefix;
    for (const auto& id : special->at("ids")) target.push_back(id.get<token_id>());
  }
  if (!state.prefix_ids.empty() || !state.suffix_ids.empty()) {
    return make_error(errc::unsupported, "{}: more than one TemplateProcessing post_processor",
                      state.file.string());
  }
  state.prefix_ids = std::move(prefix);
  state.suffix_ids = std::move(suffix);
  return ok();
}

void build_id_tables(tokenizer_state& state) {
  token_id max_id = -1;
  for (const auto& [token, id] : state.model.vocab()) max_id = std::max(max_id, id);
  for (const auto& token : state.added.tokens()) max_id = std::max(max_id, token.id);
  auto size = static_cast<std::size_t>(max_id + 1);
  state.id_to_token.assign(size, std::string());
  state.known_by_id.assign(size, 0);
  state.special_by_id.assign(size, 0);
  for (const auto& [token, id] : state.model.vocab()) {
    if (id < 0) continue;
    state.id_to_token[static_cast<std::size_t>(id)] = token;
    state.known_by_id[static_cast<std::size_t>(id)] = 1;
  }
  for (const auto& token :
       state.added.tokens()) {  // added tokens take precedence, as in Hugging Face
    auto index = static_cast<std::size_t>(token.id);
    state.id_to_token[index] = token.content;
    state.known_by_id[index] = 1;
    state.special_by_id[index] = token.special ? 1 : 0;
    state.added_by_content.emplace(token.content, token.id);
  }
}

result<std::shared_ptr<tokenizer_state>> build_state(const nlohmann::json& root,
                                                     const std::filesystem::path& file) {
  auto state = std::make_shared<tokenizer_state>();
  state->file = file;
  auto field = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json null_json;
    auto it = root.find(key);
    return it == root.end() ? null_json : *it;
  };
  if (!root.contains("model"))
    return make_error(errc::parse_error, "{}: no 'model' field", file.string());
  TROUPE_ASSIGN_OR_RETURN(state->model,
                          tokenizer_detail::bpe_model::from_json(root.at("model"), file));
  TROUPE_ASSIGN_OR_RETURN(state->norm,
                          tokenizer_detail::normalizer::from_json(field("normalizer"), file));
  TROUPE_ASSIGN_OR_RETURN(state->pre,
                          tokenizer_detail::pre_tokenizer::from_json(field("pre_tokenizer"), file));
  TROUPE_ASSIGN_OR_RETURN(state->added, tokenizer_detail::added_vocabulary::from_json(
                                            field("added_tokens"), state->norm, file));
  TROUPE_RETURN_IF_ERROR(add_post_processor(field("post_processor"), *state));
  build_id_tables(*state);
  for (token_id id : state->prefix_ids) {
    if (!state->is_known(id))
      return make_error(errc::parse_error, "{}: post_processor uses unknown id {}", file.string(),
                        id);
  }
  for (token_id id : state->suffix_ids) {
    if (!state->is_known(id))
      return make_error(errc::parse_error, "{}: post_processor uses unknown id {}", file.string(),
                        id);
  }
  TROUPE_ASSIGN_OR_RETURN(
      state->dec, tokenizer_detail::decoder::from_json(field("decoder"), state->id_to_token, file));
  return state;
}

}  // namespace

result<tokenizer> tokenizer::load(const std::filesystem::path& tokenizer_json) {
  TROUPE_ASSIGN_OR_RETURN(std::string text, read_file(tokenizer_json, "tokenizer file"));
  try {
    nlohmann::json root = nlohmann::json::parse(text);
    if (!root.is_object()) {
      return make_error(errc::parse_error, "{}: the top level is not a JSON object",
                        tokenizer_json.string());
    }
    TROUPE_ASSIGN_OR_RETURN(auto state, build_state(root, tokenizer_json));
    return tokenizer(std::move(state));
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(errc::parse_error, "{}: invalid JSON: {}", tokenizer_json.string(), e.what());
  } catch (const nlohmann::json::exception& e) {
    return make_error(errc::parse_error, "{}: unexpected structure: {}", tokenizer_json.string(),
                      e.what());
  }
}

std::vector<token_id> tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const tokenizer_state& state = *state_;
  std::string valid_storage;
  text = tokenizer_detail::to_valid_utf8(text, valid_storage);
  std::vector<token_id> ids;
  ids.reserve(text.size() / 3 + state.prefix_ids.size() + state.suffix_ids.size() + 4);
  if (add_special_tokens) ids.insert(ids.end(), state.prefix_ids.begin(), state.prefix_ids.end());
  std::vector<tokenizer_detail::text_split> raw_splits;
  std::vector<tokenizer_detail::text_split> normalized_splits;
  std::vector<std::string> words;
  state.added.split(text, /*normalized_pass=*/false, raw_splits);
  for (const auto& raw : raw_splits) {
    if (raw.id) {
      ids.push_back(*raw.id);
      continue;
    }
    // Hugging Face normalizes each piece between added tokens on its own (Prepend included).
    std::string normalized =
        state.norm.is_identity() ? std::string(raw.text) : state.norm.apply(raw.text);
    normalized_splits.clear();
    state.added.split(normalized, /*normalized_pass=*/true, normalized_splits);
    for (const auto& piece : normalized_splits) {
      if (piece.id) {
        ids.push_back(*piece.id);
        continue;
      }
      state.pre.split(piece.text, words);
      for (const std::string& word : words) state.model.tokenize(word, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), state.suffix_ids.begin(), state.suffix_ids.end());
  return ids;
}

std::string tokenizer::decode(std::span<const token_id> ids, bool skip_special_tokens) const {
  const tokenizer_state& state = *state_;
  tokenizer_detail::decode_stream stream(state.dec);
  std::string text;
  for (token_id id : ids) {
    if (!state.is_known(id) || (skip_special_tokens && state.is_special(id))) continue;
    stream.push(id, text);
  }
  stream.finish(text);
  return text;
}

std::int32_t tokenizer::vocab_size() const {
  return static_cast<std::int32_t>(state_->id_to_token.size());
}

std::optional<token_id> tokenizer::token_to_id(std::string_view token) const {
  if (auto it = state_->added_by_content.find(token); it != state_->added_by_content.end())
    return it->second;
  return state_->model.token_to_id(token);
}

std::string_view tokenizer::id_to_token(token_id id) const {
  return state_->is_known(id) ? std::string_view(state_->id_to_token[static_cast<std::size_t>(id)])
                              : std::string_view();
}

bool tokenizer::is_special(token_id id) const {
  return state_->is_special(id);
}

}  // namespace troupe
