// UTF-8 helpers and the GPT-2 byte-level alphabet, shared by the tokenizer's stages.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::tokenizer_detail {

// Number of bytes of the UTF-8 sequence whose lead byte is `lead` (1 for ASCII and for bytes that
// cannot start a sequence, so callers always advance).
std::size_t utf8_sequence_length(unsigned char lead);

// Decodes the code point starting at text[pos]; text must be valid UTF-8 and pos < text.size().
char32_t utf8_decode_at(std::string_view text, std::size_t pos);

void utf8_append(std::string& out, char32_t code_point);

bool is_valid_utf8(std::string_view bytes);

// Appends the longest decodable prefix of `pending` to `out` the way Rust's String::from_utf8_lossy
// does (each maximal invalid subpart becomes one U+FFFD) and erases it from `pending`. Unless
// `final`, a trailing incomplete but so far valid sequence stays in `pending` for more bytes; when
// `final`, it becomes one U+FFFD. Concatenating the output of any split of a byte stream equals
// from_utf8_lossy of the whole stream.
void drain_utf8_lossy(std::string& pending, std::string& out, bool final);

// The input as valid UTF-8 (from_utf8_lossy); returns a view of `text` itself when already valid.
std::string_view to_valid_utf8(std::string_view text, std::string& storage);

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_unicode_whitespace(char32_t code_point);

// Rust's char::is_alphanumeric, approximated by the general categories L*, Nd, Nl, No.
bool is_unicode_alphanumeric(char32_t code_point);

// GPT-2's reversible byte -> printable character map (bytes_to_unicode), as UTF-8 strings.
const std::array<std::string, 256>& byte_level_chars();

// The byte a byte-level character stands for, or -1 when `code_point` is not in the alphabet.
int byte_level_byte(char32_t code_point);

}  // namespace troupe::tokenizer_detail
