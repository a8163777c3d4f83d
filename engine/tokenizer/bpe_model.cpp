#include "engine/tokenizer/bpe_model.hpp"

#include <queue>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/utf8.hpp"

namespace troupe::tokenizer_detail {
namespace {

std::string optional_string(const nlohmann::json& spec, const char* key) {
  auto it = spec.find(key);
  return it == spec.end() || it->is_null() ? std::string() : it->get<std::string>();
}

// One merge rule as its two parts: "a b" (split at the first space) or ["a", "b"].
result<std::pair<std::string, std::string>> merge_parts(const nlohmann::json& entry, const std::filesystem::path& file) {
  if (entry.is_array() && entry.size() == 2) return std::pair{entry[0].get<std::string>(), entry[1].get<std::string>()};
  if (entry.is_string()) {
    const auto& text = entry.get_ref<const std::string&>();
    std::size_t space = text.find(' ');
    if (space != std::string::npos) return std::pair{text.substr(0, space), text.substr(space + 1)};
  }
  return make_error(errc::parse_error, "{}: model.merges entry {} is neither \"a b\" nor [\"a\", \"b\"]",
                    file.string(), entry.dump());
}

}  // namespace

result<bpe_model> bpe_model::from_json(const nlohmann::json& spec, const std::filesystem::path& file) {
  std::string type = spec.value("type", "BPE");
  if (type != "BPE") {
    return make_error(errc::unsupported, "{}: model type '{}' is not supported (only BPE)", file.string(), type);
  }
  if (auto dropout = spec.find("dropout"); dropout != spec.end() && !dropout->is_null() && dropout->get<double>() != 0.0) {
    return make_error(errc::unsupported, "{}: BPE dropout {} is not supported", file.string(), dropout->dump());
  }
  bpe_model model;
  for (const auto& [token, id] : spec.at("vocab").items()) model.vocab_.emplace(token, id.get<token_id>());
  model.continuing_subword_prefix_ = optional_string(spec, "continuing_subword_prefix");
  model.end_of_word_suffix_ = optional_string(spec, "end_of_word_suffix");
  model.fuse_unk_ = spec.value("fuse_unk", false);
  model.ignore_merges_ = spec.value("ignore_merges", false);
  model.byte_fallback_ = spec.value("byte_fallback", false);
  if (std::string unk = optional_string(spec, "unk_token"); !unk.empty()) {
    auto id = model.token_to_id(unk);
    if (!id) return make_error(errc::parse_error, "{}: model.unk_token '{}' is not in the vocab", file.string(), unk);
    model.unk_id_ = *id;
  }
  if (model.byte_fallback_) {
    for (int byte = 0; byte < 256; ++byte) {
      auto id = model.token_to_id(fmt::format("<0x{:02X}>", byte));
      // Like Hugging Face, a byte missing from the vocab only disables the fallback for words needing it.
      model.byte_fallback_ids_[static_cast<std::size_t>(byte)] = id.value_or(-1);
    }
  }
  const auto& merges = spec.at("merges");
  model.merges_.reserve(merges.size());
  std::size_t prefix_size = model.continuing_subword_prefix_.size();
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    TROUPE_ASSIGN_OR_RETURN(auto parts, merge_parts(merges[rank], file));
    auto left = model.token_to_id(parts.first);
    auto right = model.token_to_id(parts.second);
    std::string merged = parts.first + parts.second.substr(std::min(prefix_size, parts.second.size()));
    auto merged_id = model.token_to_id(merged);
    if (!left || !right || !merged_id) {
      return make_error(errc::parse_error, "{}: model.merges[{}] ('{}' '{}') uses a token missing from the vocab",
                        file.string(), rank, parts.first, parts.second);
    }
    model.merges_.emplace(pair_key(*left, *right), merge{static_cast<std::uint32_t>(rank), *merged_id});
  }
  return model;
}

std::optional<token_id> bpe_model::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const bpe_model::merge* bpe_model::find_merge(token_id left, token_id right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void bpe_model::initial_symbols(std::string_view word, std::vector<symbol>& symbols) const {
  symbols.clear();
  std::optional<token_id> pending_unk;  // an unknown (possibly fused) not yet added
  auto add = [&](token_id id) { symbols.push_back({id, static_cast<std::int32_t>(symbols.size()) - 1, -1, true}); };
  std::string piece;
  for (std::size_t pos = 0; pos < word.size();) {
    std::size_t length = std::min(utf8_sequence_length(static_cast<unsigned char>(word[pos])), word.size() - pos);
    std::string_view character = word.substr(pos, length);
    if (!continuing_subword_prefix_.empty() || !end_of_word_suffix_.empty()) {
      piece.clear();
      if (pos != 0) piece += continuing_subword_prefix_;
      piece += character;
      if (pos + length == word.size()) piece += end_of_word_suffix_;
      character = piece;
    }
    std::optional<token_id> id = token_to_id(character);
    pos += length;
    if (id) {
      if (pending_unk) add(*std::exchange(pending_unk, std::nullopt));
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char c : character) all_bytes = all_bytes && byte_fallback_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all_bytes) {
        // Hugging Face adds the byte tokens without flushing a pending unknown first.
        for (char c : character) add(byte_fallback_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk && !fuse_unk_) add(*pending_unk);
      if (!pending_unk || !fuse_unk_) pending_unk = unk_id_;
    }
  }
  if (pending_unk) add(*pending_unk);
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) symbols[i].next = static_cast<std::int32_t>(i + 1);
}

void bpe_model::merge_all(std::vector<symbol>& symbols) const {
  struct candidate {
    std::uint32_t rank;
    std::int32_t pos;
    token_id new_id;
    // Lowest rank first, then leftmost (std::priority_queue pops the greatest).
    bool operator<(const candidate& other) const {
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::vector<candidate> storage;
  storage.reserve(symbols.size());
  std::priority_queue<candidate> queue(std::less<candidate>(), std::move(storage));
  auto push_pair = [&](std::int32_t pos) {
    std::int32_t next = symbols[static_cast<std::size_t>(pos)].next;
    if (next < 0) return;
    if (const merge* m = find_merge(symbols[static_cast<std::size_t>(pos)].id, symbols[static_cast<std::size_t>(next)].id)) {
      queue.push({m->rank, pos, m->new_id});
    }
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) push_pair(static_cast<std::int32_t>(i));
  while (!queue.empty()) {
    candidate top = queue.top();
    queue.pop();
    symbol& current = symbols[static_cast<std::size_t>(top.pos)];
    if (!current.live || current.next < 0) continue;
    symbol& right = symbols[static_cast<std::size_t>(current.next)];
    const merge* m = find_merge(current.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
    current.id = top.new_id;
    right.live = false;
    current.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;
    if (current.prev >= 0) push_pair(current.prev);
    push_pair(top.pos);
  }
}

void bpe_model::tokenize(std::string_view word, std::vector<token_id>& ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto id = token_to_id(word)) {
      ids.push_back(*id);
      return;
    }
  }
  thread_local std::vector<symbol> symbols;
  initial_symbols(word, symbols);
  merge_all(symbols);
  for (const symbol& s : symbols) {
    if (s.live) ids.push_back(s.id);
  }
}

}  // namespace troupe::tokenizer_detail
