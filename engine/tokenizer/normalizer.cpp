#include "engine/tokenizer/normalizer.hpp"

#include <cstdlib>
#include <memory>

#include <utf8proc.h>
#include <nlohmann/json.hpp>

namespace troupe::tokenizer_detail {
namespace {

// Unicode normalization through utf8proc; `options` selects the form.
std::string unicode_normalize(std::string_view text, int options) {
  bool is_ascii = true;
  for (char c : text) is_ascii = is_ascii && static_cast<unsigned char>(c) < 0x80;
  if (is_ascii) return std::string(text);  // every normalization form leaves ASCII unchanged
  utf8proc_uint8_t* mapped = nullptr;
  utf8proc_ssize_t num_bytes =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped,
                   static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
  if (num_bytes < 0) return std::string(text);  // unreachable for valid UTF-8 input
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(num_bytes));
}

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (true) {
    std::size_t hit = text.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(text, pos, hit - pos);
    out.append(content);
    pos = hit + pattern.size();
  }
  out.append(text, pos);
  return out;
}

}  // namespace

result<normalizer> normalizer::from_json(const nlohmann::json& spec,
                                         const std::filesystem::path& file) {
  normalizer result_normalizer;
  if (spec.is_null()) return result_normalizer;
  TROUPE_RETURN_IF_ERROR(result_normalizer.add_steps(spec, file));
  return result_normalizer;
}

status normalizer::add_steps(const nlohmann::json& spec, const std::filesystem::path& file) {
  std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& child : spec.at("normalizers")) TROUPE_RETURN_IF_ERROR(add_steps(child, file));
  } else if (type == "Prepend") {
    steps_.push_back({step_kind::prepend, spec.at("prepend").get<std::string>(), {}});
  } else if (type == "Replace") {
    const auto& pattern = spec.at("pattern");
    if (!pattern.contains("String")) {
      return make_error(errc::unsupported,
                        "{}: normalizer Replace with pattern {} is not supported (only String)",
                        file.string(), pattern.dump());
    }
    std::string searched = pattern.at("String").get<std::string>();
    if (searched.empty()) {
      return make_error(errc::parse_error, "{}: normalizer Replace has an empty pattern",
                        file.string());
    }
    steps_.push_back(
        {step_kind::replace, std::move(searched), spec.at("content").get<std::string>()});
  } else if (type == "NFC") {
    steps_.push_back({step_kind::nfc, {}, {}});
  } else if (type == "NFD") {
    steps_.push_back({step_kind::nfd, {}, {}});
  } else if (type == "NFKC") {
    steps_.push_back({step_kind::nfkc, {}, {}});
  } else if (type == "NFKD") {
    steps_.push_back({step_kind::nfkd, {}, {}});
  } else {
    return make_error(errc::unsupported, "{}: normalizer type '{}' is not supported", file.string(),
                      type);
  }
  return ok();
}

std::string normalizer::apply(std::string_view text) const {
  std::string current(text);
  for (const step& s : steps_) {
    switch (s.kind) {
      case step_kind::prepend:
        if (!current.empty()) current.insert(0, s.pattern);
        break;
      case step_kind::replace:
        current = replace_all(current, s.pattern, s.content);
        break;
      case step_kind::nfc:
        current = unicode_normalize(current, UTF8PROC_COMPOSE);
        break;
      case step_kind::nfd:
        current = unicode_normalize(current, UTF8PROC_DECOMPOSE);
        break;
      case step_kind::nfkc:
        current = unicode_normalize(current, UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
        break;
      case step_kind::nfkd:
        current = unicode_normalize(current, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
        break;
    }
  }
  return current;
}

}  // namespace troupe::tokenizer_detail
