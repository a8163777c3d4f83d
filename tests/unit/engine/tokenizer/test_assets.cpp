#include "tests/unit/engine/tokenizer/test_assets.hpp"

#include <fstream>
#include <map>
#include <mutex>

#include <gtest/gtest.h>

namespace troupe::test {
namespace {

std::filesystem::path golden_dir() {
  return std::filesystem::path(TROUPE_SOURCE_DIR) / "tests/golden/tokenizer";
}

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream stream(file);
  if (!stream) throw std::runtime_error("cannot open " + file.string());
  return nlohmann::json::parse(stream);
}

// "shared:<rel>", "npm:<rel>" or "golden:<rel>" as written by scripts/tokenizer_golden.js.
std::filesystem::path resolve(const std::string& spec) {
  std::size_t colon = spec.find(':');
  std::string base = spec.substr(0, colon);
  std::string rel = spec.substr(colon + 1);
  if (base == "golden") return golden_dir() / rel;
  return (base == "shared" ? std::filesystem::path(TROUPE_SHARED_MODELS_DIR) : npm_dir()) / rel;
}

}  // namespace

const std::vector<std::string>& golden_tokenizer_names() {
  static const std::vector<std::string> names = {"stories260k", "llama2", "llama3_1", "qwen3",
                                                 "stories260k_added"};
  return names;
}

const nlohmann::json& golden(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, nlohmann::json> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, read_json(golden_dir() / (name + ".json"))).first;
  return it->second;
}

const tokenizer& golden_tokenizer(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, tokenizer> cache;
  const std::string spec = golden(name).at("tokenizer").get<std::string>();
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) {
    auto loaded = tokenizer::load(resolve(spec));
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    it = cache.emplace(name, std::move(loaded).value()).first;
  }
  return it->second;
}

std::vector<std::string> golden_corpus() {
  return read_json(golden_dir() / "corpus.json").get<std::vector<std::string>>();
}

std::string large_text() {
  std::string unit;
  auto corpus = golden_corpus();
  for (std::size_t i = 0; i < corpus.size(); ++i) unit += (i == 0 ? "" : "\n") + corpus[i];
  std::string text;
  while (text.size() < 300000) text += unit;
  return text;
}

std::uint32_t fnv1a32(const std::vector<token_id>& ids) {
  std::uint32_t hash = 0x811c9dc5U;
  for (token_id id : ids) {
    auto value = static_cast<std::uint32_t>(id);
    for (int shift = 0; shift < 32; shift += 8) {
      hash ^= (value >> shift) & 0xFFU;
      hash *= 0x01000193U;
    }
  }
  return hash;
}

std::filesystem::path npm_dir() {
  return TROUPE_NPM_DIR;
}

bool is_valid_utf8(const std::string& text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto lead = static_cast<unsigned char>(text[pos]);
    std::size_t width = lead < 0x80           ? 1
                        : (lead >> 5) == 0x6  ? 2
                        : (lead >> 4) == 0xE  ? 3
                        : (lead >> 3) == 0x1E ? 4
                                              : 0;
    if (width == 0 || pos + width > text.size()) return false;
    for (std::size_t i = 1; i < width; ++i) {
      if ((static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) return false;
    }
    pos += width;
  }
  return true;
}

}  // namespace troupe::test
