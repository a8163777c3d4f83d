#include "engine/tokenizer/decoder.hpp"

#include <nlohmann/json.hpp>

#include "engine/tokenizer/utf8.hpp"

namespace troupe::tokenizer_detail {
namespace {

constexpr std::string_view replacement_char = "\xEF\xBF\xBD";  // U+FFFD

std::string replace_all(std::string text, std::string_view pattern, std::string_view content) {
  for (std::size_t pos = text.find(pattern); pos != std::string::npos;
       pos = text.find(pattern, pos + content.size())) {
    text.replace(pos, pattern.size(), content);
  }
  return text;
}

// The byte of a "<0xNN>" token (Hugging Face's ByteFallback accepts either hex case), else -1.
std::int16_t fallback_byte(std::string_view token) {
  if (token.size() != 6 || token.substr(0, 3) != "<0x" || token[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int high = hex(token[3]);
  int low = hex(token[4]);
  return high < 0 || low < 0 ? std::int16_t{-1} : static_cast<std::int16_t>(high * 16 + low);
}

}  // namespace

result<decoder> decoder::from_json(const nlohmann::json& spec,
                                   const std::vector<std::string>& id_to_token,
                                   const std::filesystem::path& file) {
  decoder result_decoder;
  if (!spec.is_null()) {
    if (spec.at("type").get<std::string>() == "Sequence") {
      result_decoder.kind_ = kind::pieces;
      for (const auto& child : spec.at("decoders"))
        TROUPE_RETURN_IF_ERROR(result_decoder.add_stage(child, file));
    } else {
      TROUPE_RETURN_IF_ERROR(result_decoder.add_stage(spec, file));
      if (result_decoder.kind_ != kind::byte_level) {
        return make_error(errc::unsupported, "{}: decoder {} is not supported on its own",
                          file.string(), spec.dump());
      }
    }
  }
  result_decoder.precompute(id_to_token);
  return result_decoder;
}

status decoder::add_stage(const nlohmann::json& spec, const std::filesystem::path& file) {
  std::string type = spec.at("type").get<std::string>();
  auto out_of_order = [&] {
    return make_error(errc::unsupported,
                      "{}: decoder {} in this position of the Sequence is not supported",
                      file.string(), type);
  };
  if (type == "Replace") {
    if (seen_join_ || byte_fallback_ || !strip_content_.empty()) return out_of_order();
    const auto& pattern = spec.at("pattern");
    if (!pattern.contains("String") || pattern.at("String").get<std::string>().empty()) {
      return make_error(errc::unsupported,
                        "{}: decoder Replace with pattern {} is not supported (only String)",
                        file.string(), pattern.dump());
    }
    replacements_.emplace_back(pattern.at("String").get<std::string>(),
                               spec.at("content").get<std::string>());
  } else if (type == "ByteFallback") {
    if (seen_join_ || byte_fallback_ || !strip_content_.empty()) return out_of_order();
    byte_fallback_ = true;
  } else if (type == "Fuse") {
    if (seen_join_ || !strip_content_.empty()) return out_of_order();
    seen_join_ = true;
  } else if (type == "ByteLevel") {
    if (seen_join_ || byte_fallback_ || !replacements_.empty() || !strip_content_.empty())
      return out_of_order();
    seen_join_ = true;
    kind_ = kind::byte_level;
  } else if (type == "Strip") {
    // After a join the text is one string, so the strip applies to the whole text once.
    if (!seen_join_ || !strip_content_.empty()) return out_of_order();
    strip_content_ = spec.at("content").get<std::string>();
    if (strip_content_.empty() || utf8_sequence_length(static_cast<unsigned char>(
                                      strip_content_[0])) != strip_content_.size()) {
      return make_error(errc::parse_error, "{}: decoder Strip content '{}' is not one character",
                        file.string(), strip_content_);
    }
    num_strip_start_ = spec.value("start", std::size_t{0});
    num_strip_stop_ = spec.value("stop", std::size_t{0});
  } else {
    return make_error(errc::unsupported, "{}: decoder type '{}' is not supported", file.string(),
                      type);
  }
  return ok();
}

void decoder::precompute(const std::vector<std::string>& id_to_token) {
  piece_by_id_.resize(id_to_token.size());
  if (kind_ == kind::pieces && byte_fallback_) byte_by_id_.assign(id_to_token.size(), -1);
  for (std::size_t id = 0; id < id_to_token.size(); ++id) {
    const std::string& token = id_to_token[id];
    std::string& piece = piece_by_id_[id];
    if (kind_ == kind::byte_level) {
      // Every character maps to a byte; a token with any other character keeps its own bytes.
      bool all_mapped = true;
      for (std::size_t pos = 0; pos < token.size() && all_mapped;
           pos += utf8_sequence_length(static_cast<unsigned char>(token[pos]))) {
        int byte = byte_level_byte(utf8_decode_at(token, pos));
        all_mapped = byte >= 0;
        piece += static_cast<char>(byte);
      }
      if (!all_mapped) piece = token;
      continue;
    }
    piece = token;
    for (const auto& [pattern, content] : replacements_)
      piece = replace_all(std::move(piece), pattern, content);
    if (!byte_by_id_.empty()) byte_by_id_[id] = fallback_byte(piece);
  }
}

void decode_stream::push(token_id id, std::string& out) {
  const decoder& d = *decoder_;
  auto index = static_cast<std::size_t>(id);
  switch (d.kind_) {
    case decoder::kind::byte_level: {
      pending_bytes_ += d.piece_by_id_[index];
      std::string text;
      drain_utf8_lossy(pending_bytes_, text, /*final=*/false);
      emit(text, out);
      break;
    }
    case decoder::kind::pieces:
      if (!d.byte_by_id_.empty() && d.byte_by_id_[index] >= 0) {
        pending_bytes_ += static_cast<char>(d.byte_by_id_[index]);  // the run resolves when it ends
        break;
      }
      flush_byte_run(out);
      emit(d.piece_by_id_[index], out);
      break;
    case decoder::kind::joined_with_space:
      if (!first_token_) emit(" ", out);
      emit(d.piece_by_id_[index], out);
      break;
  }
  first_token_ = false;
}

void decode_stream::finish(std::string& out) {
  if (decoder_->kind_ == decoder::kind::byte_level) {
    std::string text;
    drain_utf8_lossy(pending_bytes_, text, /*final=*/true);
    emit(text, out);
  } else {
    flush_byte_run(out);
  }
  num_held_strip_ = 0;  // trailing strip characters are dropped at the end of the text
}

// A run of <0xNN> tokens becomes its UTF-8 text when the whole run is valid, else one U+FFFD per
// byte (Hugging Face's ByteFallback decides over the whole run).
void decode_stream::flush_byte_run(std::string& out) {
  if (pending_bytes_.empty()) return;
  if (is_valid_utf8(pending_bytes_)) {
    emit(pending_bytes_, out);
  } else {
    std::string replaced;
    for (std::size_t i = 0; i < pending_bytes_.size(); ++i) replaced += replacement_char;
    emit(replaced, out);
  }
  pending_bytes_.clear();
}

// Appends `text` (complete UTF-8 characters) to `out`, applying the decoder's Strip.
void decode_stream::emit(std::string_view text, std::string& out) {
  const std::string& content = decoder_->strip_content_;
  if (content.empty()) {
    out += text;
    return;
  }
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t length = utf8_sequence_length(static_cast<unsigned char>(text[pos]));
    std::string_view character = text.substr(pos, length);
    pos += length;
    bool is_content = character == content;
    if (stripping_start_ && num_strip_start_left_ > 0 && is_content) {
      --num_strip_start_left_;
      continue;
    }
    stripping_start_ = false;
    if (is_content && decoder_->num_strip_stop_ > 0) {
      if (num_held_strip_ == decoder_->num_strip_stop_) {
        out += content;  // the oldest held character can no longer be trailing
      } else {
        ++num_held_strip_;
      }
      continue;
    }
    for (; num_held_strip_ > 0; --num_held_strip_) out += content;
    out += character;
  }
}

}  // namespace troupe::tokenizer_detail
