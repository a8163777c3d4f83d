#include "engine/tokenizer/utf8.hpp"

#include <utf8proc.h>

namespace troupe::tokenizer_detail {
namespace {

constexpr std::string_view replacement_char = "\xEF\xBF\xBD";  // U+FFFD

// Valid range of the second byte of a sequence led by `lead` (RFC 3629 table).
bool second_byte_ok(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0:
      return byte >= 0xA0 && byte <= 0xBF;
    case 0xED:
      return byte >= 0x80 && byte <= 0x9F;
    case 0xF0:
      return byte >= 0x90 && byte <= 0xBF;
    case 0xF4:
      return byte >= 0x80 && byte <= 0x8F;
    default:
      return byte >= 0x80 && byte <= 0xBF;
  }
}

// Width of a well-formed sequence led by `lead`, 0 when `lead` cannot start one.
std::size_t lead_width(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

std::array<int, 324> make_char_to_byte() {
  std::array<int, 324> table{};
  table.fill(-1);
  int next_extra = 256;
  for (int byte = 0; byte < 256; ++byte) {
    bool printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
    table[static_cast<std::size_t>(printable ? byte : next_extra++)] = byte;
  }
  return table;
}

}  // namespace

std::size_t utf8_sequence_length(unsigned char lead) {
  std::size_t width = lead_width(lead);
  return width == 0 ? 1 : width;
}

char32_t utf8_decode_at(std::string_view text, std::size_t pos) {
  auto byte = [&](std::size_t i) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i]));
  };
  char32_t lead = byte(0);
  switch (utf8_sequence_length(static_cast<unsigned char>(lead))) {
    case 2:
      return ((lead & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3:
      return ((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    case 4:
      return ((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
             (byte(3) & 0x3F);
    default:
      return lead;
  }
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void drain_utf8_lossy(std::string& pending, std::string& out, bool final) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(pending.data());
  std::size_t num_bytes = pending.size();
  std::size_t pos = 0;
  while (pos < num_bytes) {
    unsigned char lead = bytes[pos];
    std::size_t width = lead_width(lead);
    if (width == 1) {
      out += static_cast<char>(lead);
      ++pos;
      continue;
    }
    if (width == 0) {
      out += replacement_char;
      ++pos;
      continue;
    }
    std::size_t num_ok = 1;
    while (num_ok < width && pos + num_ok < num_bytes) {
      unsigned char byte = bytes[pos + num_ok];
      bool ok = num_ok == 1 ? second_byte_ok(lead, byte) : (byte >= 0x80 && byte <= 0xBF);
      if (!ok) break;
      ++num_ok;
    }
    if (num_ok == width) {
      out.append(pending, pos, width);
    } else if (pos + num_ok == num_bytes && !final) {
      break;  // incomplete so far: wait for more bytes
    } else {
      out += replacement_char;
    }
    pos += num_ok;
  }
  pending.erase(0, pos);
}

bool is_valid_utf8(std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    auto lead = static_cast<unsigned char>(bytes[pos]);
    std::size_t width = lead_width(lead);
    if (width == 0 || pos + width > bytes.size()) return false;
    for (std::size_t i = 1; i < width; ++i) {
      auto byte = static_cast<unsigned char>(bytes[pos + i]);
      if (i == 1 ? !second_byte_ok(lead, byte) : (byte < 0x80 || byte > 0xBF)) return false;
    }
    pos += width;
  }
  return true;
}

std::string_view to_valid_utf8(std::string_view text, std::string& storage) {
  if (is_valid_utf8(text)) return text;
  std::string pending(text);
  storage.clear();
  drain_utf8_lossy(pending, storage, /*final=*/true);
  return storage;
}

bool is_unicode_whitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_unicode_alphanumeric(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

const std::array<std::string, 256>& byte_level_chars() {
  static const std::array<std::string, 256> chars = [] {
    std::array<std::string, 256> result;
    auto table = make_char_to_byte();
    for (std::size_t cp = 0; cp < table.size(); ++cp) {
      if (table[cp] >= 0)
        utf8_append(result[static_cast<std::size_t>(table[cp])], static_cast<char32_t>(cp));
    }
    return result;
  }();
  return chars;
}

int byte_level_byte(char32_t cp) {
  static const std::array<int, 324> table = make_char_to_byte();
  return cp < table.size() ? table[cp] : -1;
}

}  // namespace troupe::tokenizer_detail
