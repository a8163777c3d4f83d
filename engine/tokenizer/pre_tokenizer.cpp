#include "engine/tokenizer/pre_tokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/utf8.hpp"

namespace troupe::tokenizer_detail {

// Owns one compiled PCRE2 pattern; matching is thread-safe (match data is per call).
class compiled_regex {
 public:
  static result<std::shared_ptr<const compiled_regex>> compile(std::string_view pattern,
                                                               bool literal,
                                                               const std::filesystem::path& file) {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    std::uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0U);
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     options, &error_code, &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      return make_error(
          errc::parse_error, "{}: pre_tokenizer regex '{}' does not compile at offset {}: {}",
          file.string(), pattern, error_offset, reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code,
                      PCRE2_JIT_COMPLETE);  // falls back to the interpreter when JIT is unavailable
    return std::shared_ptr<const compiled_regex>(new compiled_regex(code));
  }

  ~compiled_regex() { pcre2_code_free(code_); }
  compiled_regex(const compiled_regex&) = delete;
  compiled_regex& operator=(const compiled_regex&) = delete;

  // Calls on_piece(begin, end, is_match) for the consecutive pieces of `text`: the matches and
  // the gaps between them, as Hugging Face's Pattern::find_matches does (empty matches skipped).
  template <class OnPiece>
  void for_each_piece(std::string_view text, OnPiece&& on_piece) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
        pcre2_match_data_create_from_pattern(code_, nullptr), &pcre2_match_data_free);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t previous_end = 0;
    std::size_t search_from = 0;
    while (search_from < text.size()) {
      int rc = pcre2_match(code_, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK,
                           match.get(), nullptr);
      if (rc < 0) break;  // PCRE2_ERROR_NOMATCH (limits cannot be hit by these patterns)
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
      std::size_t begin = ovector[0];
      std::size_t end = ovector[1];
      if (begin == end) {  // empty match: produce nothing, move one character on
        search_from = end + utf8_sequence_length(static_cast<unsigned char>(text[end]));
        continue;
      }
      if (begin > previous_end) on_piece(previous_end, begin, false);
      on_piece(begin, end, true);
      previous_end = end;
      search_from = end;
    }
    if (previous_end < text.size()) on_piece(previous_end, text.size(), false);
  }

 private:
  explicit compiled_regex(pcre2_code* code) : code_(code) {}
  pcre2_code* code_;
};

namespace {

// GPT-2's pre-tokenization pattern, used by ByteLevel when use_regex is true.
constexpr std::string_view gpt2_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

result<pre_tokenizer> pre_tokenizer::from_json(const nlohmann::json& spec,
                                               const std::filesystem::path& file) {
  pre_tokenizer result_pre_tokenizer;
  if (spec.is_null()) return result_pre_tokenizer;
  TROUPE_RETURN_IF_ERROR(result_pre_tokenizer.add_stages(spec, file));
  return result_pre_tokenizer;
}

status pre_tokenizer::add_stages(const nlohmann::json& spec, const std::filesystem::path& file) {
  std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& child : spec.at("pretokenizers"))
      TROUPE_RETURN_IF_ERROR(add_stages(child, file));
    return ok();
  }
  stage s;
  if (type == "Split") {
    const auto& pattern = spec.at("pattern");
    bool literal = pattern.contains("String");
    std::string text =
        literal ? pattern.at("String").get<std::string>() : pattern.at("Regex").get<std::string>();
    TROUPE_ASSIGN_OR_RETURN(s.regex, compiled_regex::compile(text, literal, file));
    std::string behavior = spec.at("behavior").get<std::string>();
    if (behavior != "Isolated" && behavior != "Removed") {
      return make_error(
          errc::unsupported,
          "{}: pre_tokenizer Split behavior '{}' is not supported (Isolated, Removed)",
          file.string(), behavior);
    }
    s.remove_matches = behavior == "Removed";
    s.invert = spec.value("invert", false);
  } else if (type == "ByteLevel") {
    s.byte_level = true;
    s.prefix_space = spec.value("add_prefix_space", false);
    if (spec.value("use_regex", true)) {
      TROUPE_ASSIGN_OR_RETURN(s.regex, compiled_regex::compile(gpt2_pattern, false, file));
    }
  } else {
    return make_error(errc::unsupported, "{}: pre_tokenizer type '{}' is not supported",
                      file.string(), type);
  }
  stages_.push_back(std::move(s));
  return ok();
}

void pre_tokenizer::split(std::string_view text, std::vector<std::string>& words) const {
  words.clear();
  if (text.empty()) return;
  words.emplace_back(text);
  std::vector<std::string> scratch;
  for (const stage& s : stages_) apply(s, words, scratch);
}

void pre_tokenizer::apply(const stage& s, std::vector<std::string>& words,
                          std::vector<std::string>& scratch) const {
  scratch.clear();
  for (std::string& word : words) {
    if (s.prefix_space && word.front() != ' ')
      word = ' ' + word;  // (insert(0, " ") trips g++ 12's -Wrestrict)
    if (!s.regex) {
      scratch.push_back(std::move(word));
      continue;
    }
    s.regex->for_each_piece(word, [&](std::size_t begin, std::size_t end, bool is_match) {
      if (is_match != s.invert && s.remove_matches) return;
      scratch.emplace_back(word, begin, end - begin);
    });
  }
  words.swap(scratch);
  if (!s.byte_level) return;
  const auto& chars = byte_level_chars();
  std::string mapped;
  for (std::string& word : words) {
    mapped.clear();
    for (char c : word) mapped += chars[static_cast<unsigned char>(c)];
    word.swap(mapped);
  }
}

}  // namespace troupe::tokenizer_detail
