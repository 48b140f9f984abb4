// UTF-8 validation and U+FFFD repair following the Unicode "maximal subpart"
// practice (Unicode 15, section 3.9, table 3-7 of well-formed byte sequences),
// which is also what Python's UTF-8 decoder does with errors="replace".
#include "cocomix/util/utf8.h"

#include <cstdint>
#include <cstring>

namespace cocomix {
namespace {

/// Number of leading bytes of the sequence at `i` that can still begin a valid
/// sequence (its maximal subpart), and whether they complete one.
struct Subpart {
  size_t length;  ///< bytes that belong to the (possibly incomplete) sequence, >= 1
  bool complete;  ///< the sequence is well formed
};

Subpart subpart_at(const unsigned char* p, size_t available) {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {1, true};
  size_t need;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte (table 3-7)
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlongs
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;   // no overlongs
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};  // a continuation byte, C0, C1 or F5..FF never starts a sequence
  }
  size_t got = 1;
  for (; got < need && got < available; ++got) {
    const unsigned char b = p[got];
    const bool ok = got == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
  }
  return {got, got == need};
}

/// True when the 8 bytes at p are all ASCII.
bool ascii8(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return (word & 0x8080808080808080ull) == 0;
}

}  // namespace

size_t utf8_sequence_length(std::string_view bytes, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + i;
  const Subpart part = subpart_at(p, bytes.size() - i);
  return part.complete ? part.length : 0;
}

size_t utf8_valid_prefix(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n && ascii8(p + i)) {
      i += 8;
      continue;
    }
    const Subpart part = subpart_at(p + i, n - i);
    if (!part.complete) return i;
    i += part.length;
  }
  return n;
}

std::string utf8_replace_invalid(std::string_view bytes) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string out;
  out.reserve(n + n / 8);
  size_t i = 0;
  while (i < n) {
    const size_t valid = utf8_valid_prefix(bytes.substr(i));
    out.append(bytes.data() + i, valid);
    i += valid;
    if (i == n) break;
    i += subpart_at(p + i, n - i).length;  // one U+FFFD for the whole maximal subpart
    out.append(kReplacement, 3);
  }
  return out;
}

}  // namespace cocomix
