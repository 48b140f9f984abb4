// UTF-8 validation and repair. Bytes that are not valid UTF-8 are replaced the
// way Python's bytes.decode("utf-8", errors="replace") does (one U+FFFD per
// maximal invalid subpart, the Unicode "best practice"), which defines how the
// GPT-2 tokenizer treats such input and how it decodes ids to text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cocomix {

/// Length of the longest prefix of `bytes` that is valid UTF-8 (no overlongs,
/// no surrogates, nothing above U+10FFFF). Equals bytes.size() when all is valid.
size_t utf8_valid_prefix(std::string_view bytes);

/// True when `bytes` is entirely valid UTF-8.
inline bool is_valid_utf8(std::string_view bytes) { return utf8_valid_prefix(bytes) == bytes.size(); }

/// `bytes` with every maximal invalid subpart replaced by U+FFFD ("\xEF\xBF\xBD"):
/// the UTF-8 encoding of Python's bytes.decode("utf-8", errors="replace").
std::string utf8_replace_invalid(std::string_view bytes);

/// Length in bytes of the valid UTF-8 sequence starting at bytes[i] (1 to 4), or 0
/// when the bytes at i do not start a valid sequence.
size_t utf8_sequence_length(std::string_view bytes, size_t i);

}  // namespace cocomix
