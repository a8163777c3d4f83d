// Shared by the tokenizer tests: the four test tokenizers, loaded once, and their golden data
// (oracle: Hugging Face tokenizers via @anush008/tokenizers; regenerate with
// scripts/tokenizer_golden.js).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.hpp"

namespace troupe::test {

// Golden names: stories260k, llama2, llama3_1, qwen3, and stories260k_added (stories260K plus
// added tokens with lstrip, rstrip, single_word and normalized set).
const std::vector<std::string>& golden_tokenizer_names();

// tests/golden/tokenizer/<name>.json, parsed once.
const nlohmann::json& golden(const std::string& name);

// The tokenizer of a golden file, loaded once; fails the test (fatally) when it cannot load.
const tokenizer& golden_tokenizer(const std::string& name);

// tests/golden/tokenizer/corpus.json.
std::vector<std::string> golden_corpus();

// The corpus joined with "\n", repeated to at least 300,000 bytes (as scripts/tokenizer_golden.js).
std::string large_text();

std::uint32_t fnv1a32(const std::vector<token_id>& ids);

std::filesystem::path npm_dir();

bool is_valid_utf8(const std::string& text);

}  // namespace troupe::test
