// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): cut normalized text into words for BPE.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/common/result.hpp"

namespace troupe::tokenizer_detail {

class compiled_regex;  // a PCRE2 pattern compiled with PCRE2_UTF | PCRE2_UCP (and JIT when
                       // available)

// Supported: Sequence, Split (Regex or String pattern; behavior Isolated or Removed; invert),
// ByteLevel (add_prefix_space, use_regex with GPT-2's pattern); null keeps the text as one word.
class pre_tokenizer {
 public:
  // `spec` is the "pre_tokenizer" value; `file` names the tokenizer.json in errors.
  static result<pre_tokenizer> from_json(const nlohmann::json& spec,
                                         const std::filesystem::path& file);

  // Replaces `words` with the non-empty words of `text` (valid UTF-8), in order.
  void split(std::string_view text, std::vector<std::string>& words) const;

 private:
  struct stage {
    std::shared_ptr<const compiled_regex> regex;  // split on matches; null for none
    bool remove_matches = false;                  // Split behavior Removed
    bool invert = false;        // Split: the pieces between matches are the matches
    bool prefix_space = false;  // ByteLevel add_prefix_space
    bool byte_level = false;    // map every byte to GPT-2's alphabet
  };

  status add_stages(const nlohmann::json& spec, const std::filesystem::path& file);
  void apply(const stage& s, std::vector<std::string>& words,
             std::vector<std::string>& scratch) const;

  std::vector<stage> stages_;
};

}  // namespace troupe::tokenizer_detail
