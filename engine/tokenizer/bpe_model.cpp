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
result<std::pair<std::string, std::string>> merge_parts(const nlohmann::json& entry,
                                                        const std::filesystem::path& file) {
  if (entry.is_array() && entry.size() == 2)
    return std::pair{entry[0].get<std::string>(), entry[1].get<std::string>()};
  if (entry.is_string()) {
    const auto& text = entry.get_ref<const std::string&>();
    std::size_t space = text.find(' ');
    if (space != std::string::npos) return std::pair{text.substr(0, space), text.substr(space + 1)};
  }
  return make_error(errc::parse_error,
                    "{}: model.merges entry {} is neither \"a b\" nor [\"a\", \"b\"]",
                    file.string(), entry.dump());
}

constexpr std::size_t max_num_scan_symbols = 48;  // words up to this size merge by scanning

}  // namespace

void bpe_model::merge_map::reserve(std::size_t num_merges) {
  std::size_t capacity = 16;
  shift_ = 60;
  while (capacity < 2 * num_merges) {
    capacity *= 2;
    --shift_;
  }
  keys_.assign(capacity, empty_key);
  values_.assign(capacity, merge{0, 0});
}

void bpe_model::merge_map::insert(std::uint64_t key, merge value) {
  std::size_t mask = keys_.size() - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    if (keys_[i] == key || keys_[i] == empty_key) {
      keys_[i] = key;
      values_[i] = value;
      return;
    }
  }
}

const bpe_model::merge* bpe_model::merge_map::find(std::uint64_t key) const {
  if (keys_.empty()) return nullptr;
  std::size_t mask = keys_.size() - 1;
  for (std::size_t i = slot(key);; i = (i + 1) & mask) {
    if (keys_[i] == key) return &values_[i];
    if (keys_[i] == empty_key) return nullptr;
  }
}

result<bpe_model> bpe_model::from_json(const nlohmann::json& spec,
                                       const std::filesystem::path& file) {
  std::string type = spec.value("type", "BPE");
  if (type != "BPE") {
    return make_error(errc::unsupported, "{}: model type '{}' is not supported (only BPE)",
                      file.string(), type);
  }
  if (auto dropout = spec.find("dropout");
      dropout != spec.end() && !dropout->is_null() && dropout->get<double>() != 0.0) {
    return make_error(errc::unsupported, "{}: BPE dropout {} is not supported", file.string(),
                      dropout->dump());
  }
  bpe_model model;
  for (const auto& [token, id] : spec.at("vocab").items())
    model.vocab_.emplace(token, id.get<token_id>());
  model.char_ids_.assign(0x10000, -1);
  for (const auto& [token, id] : model.vocab_) {
    if (token.empty() || utf8_sequence_length(static_cast<unsigned char>(token[0])) != token.size())
      continue;
    char32_t code_point = utf8_decode_at(token, 0);
    if (code_point < model.char_ids_.size()) model.char_ids_[code_point] = id;
  }
  model.continuing_subword_prefix_ = optional_string(spec, "continuing_subword_prefix");
  model.end_of_word_suffix_ = optional_string(spec, "end_of_word_suffix");
  model.fuse_unk_ = spec.value("fuse_unk", false);
  model.ignore_merges_ = spec.value("ignore_merges", false);
  model.byte_fallback_ = spec.value("byte_fallback", false);
  if (std::string unk = optional_string(spec, "unk_token"); !unk.empty()) {
    auto id = model.token_to_id(unk);
    if (!id)
      return make_error(errc::parse_error, "{}: model.unk_token '{}' is not in the vocab",
                        file.string(), unk);
    model.unk_id_ = *id;
  }
  if (model.byte_fallback_) {
    for (int byte = 0; byte < 256; ++byte) {
      auto id = model.token_to_id(fmt::format("<0x{:02X}>", byte));
      // Like Hugging Face, a byte missing from the vocab only disables the fallback for words
      // needing it.
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
    std::string merged =
        parts.first + parts.second.substr(std::min(prefix_size, parts.second.size()));
    auto merged_id = model.token_to_id(merged);
    if (!left || !right || !merged_id) {
      return make_error(errc::parse_error,
                        "{}: model.merges[{}] ('{}' '{}') uses a token missing from the vocab",
                        file.string(), rank, parts.first, parts.second);
    }
    model.merges_.insert(pair_key(*left, *right),
                         merge{static_cast<std::uint32_t>(rank), *merged_id});
  }
  return model;
}

std::optional<token_id> bpe_model::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<token_id> bpe_model::char_to_id(std::string_view character) const {
  char32_t code_point = utf8_decode_at(character, 0);
  if (code_point >= char_ids_.size()) return token_to_id(character);
  token_id id = char_ids_[code_point];
  if (id < 0) return std::nullopt;
  return id;
}

const bpe_model::merge* bpe_model::find_merge(token_id left, token_id right) const {
  return merges_.find(pair_key(left, right));
}

void bpe_model::initial_symbols(std::string_view word, std::vector<symbol>& symbols) const {
  symbols.clear();
  std::optional<token_id> pending_unk;  // an unknown (possibly fused) not yet added
  auto add = [&](token_id id) {
    symbols.push_back({id, static_cast<std::int32_t>(symbols.size()) - 1, -1, true});
  };
  std::string piece;
  for (std::size_t pos = 0; pos < word.size();) {
    std::size_t length =
        std::min(utf8_sequence_length(static_cast<unsigned char>(word[pos])), word.size() - pos);
    std::string_view character = word.substr(pos, length);
    std::optional<token_id> id;
    if (continuing_subword_prefix_.empty() && end_of_word_suffix_.empty()) {
      id = char_to_id(character);
    } else {
      piece.clear();
      if (pos != 0) piece += continuing_subword_prefix_;
      piece += character;
      if (pos + length == word.size()) piece += end_of_word_suffix_;
      character = piece;
      id = token_to_id(character);
    }
    pos += length;
    if (id) {
      if (pending_unk) add(*std::exchange(pending_unk, std::nullopt));
      add(*id);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char c : character)
        all_bytes = all_bytes && byte_fallback_ids_[static_cast<unsigned char>(c)] >= 0;
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
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
    symbols[i].next = static_cast<std::int32_t>(i + 1);
}

void bpe_model::merge_all_by_scan(std::vector<symbol>& symbols) const {
  // merges[i]: the merge of symbols i and i + 1 of the compacted word, rank UINT32_MAX for none.
  std::array<merge, max_num_scan_symbols> merges;
  std::size_t num_symbols = symbols.size();
  auto rank_pair = [&](std::size_t i) {
    const merge* m = find_merge(symbols[i].id, symbols[i + 1].id);
    merges[i] = m != nullptr ? *m : merge{UINT32_MAX, 0};
  };
  for (std::size_t i = 0; i + 1 < num_symbols; ++i) rank_pair(i);
  while (num_symbols > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < num_symbols; ++i) {
      if (merges[i].rank < merges[best].rank) best = i;
    }
    if (merges[best].rank == UINT32_MAX) break;
    symbols[best].id = merges[best].new_id;
    for (std::size_t i = best + 1; i + 1 < num_symbols; ++i) {
      symbols[i] = symbols[i + 1];
      merges[i] = merges[i + 1];
    }
    --num_symbols;
    if (best > 0) rank_pair(best - 1);
    if (best + 1 < num_symbols) rank_pair(best);
  }
  symbols.resize(num_symbols);
}

void bpe_model::merge_all(std::vector<symbol>& symbols) const {
  if (symbols.size() <= max_num_scan_symbols) {
    merge_all_by_scan(symbols);
    return;
  }
  struct candidate {
    std::uint32_t rank;
    std::int32_t pos;
    token_id new_id;
    token_id left_id;  // the pair this entry was made for; a changed pair makes it stale
    token_id right_id;
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
    if (const merge* m = find_merge(symbols[static_cast<std::size_t>(pos)].id,
                                    symbols[static_cast<std::size_t>(next)].id)) {
      queue.push({m->rank, pos, m->new_id, symbols[static_cast<std::size_t>(pos)].id,
                  symbols[static_cast<std::size_t>(next)].id});
    }
  };
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) push_pair(static_cast<std::int32_t>(i));
  while (!queue.empty()) {
    candidate top = queue.top();
    queue.pop();
    symbol& current = symbols[static_cast<std::size_t>(top.pos)];
    if (!current.live || current.next < 0) continue;
    symbol& right = symbols[static_cast<std::size_t>(current.next)];
    // Hugging Face re-looks the pair up and compares new ids; a different pair never merges into
    // the same token (its string would differ), so comparing the pair is the same test.
    if (current.id != top.left_id || right.id != top.right_id) continue;  // stale entry
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
