// Normalizers of tokenizer.json ("normalizer"): the subset real BPE tokenizers use.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/common/result.hpp"

namespace troupe::tokenizer_detail {

// A chain of text rewrites applied to every piece of input that is not an added token.
// Supported: Sequence, Prepend, Replace (String pattern), NFC, NFD, NFKC, NFKD; null is identity.
class normalizer {
 public:
  // `spec` is the "normalizer" value; `file` names the tokenizer.json in errors.
  static result<normalizer> from_json(const nlohmann::json& spec,
                                      const std::filesystem::path& file);

  bool is_identity() const { return steps_.empty(); }

  // `text` must be valid UTF-8; returns valid UTF-8.
  std::string apply(std::string_view text) const;

 private:
  enum class step_kind { prepend, replace, nfc, nfd, nfkc, nfkd };
  struct step {
    step_kind kind;
    std::string pattern;  // prepend: the prefix; replace: the searched string
    std::string content;  // replace: the replacement
  };

  status add_steps(const nlohmann::json& spec, const std::filesystem::path& file);

  std::vector<step> steps_;
};

}  // namespace troupe::tokenizer_detail
