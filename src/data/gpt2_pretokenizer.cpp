// Hand-written matcher for tiktoken's GPT-2 pattern (in its faster but equivalent
// form '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s):
// at each position the first alternative that matches wins, as in the regex.
// Classes of the Basic Multilingual Plane are tabulated once from utf8proc.
#include "cocomix/data/gpt2_pretokenizer.h"

#include <utf8proc.h>

#include <array>
#include <memory>

namespace cocomix {
namespace {

using Class = Gpt2CharClass;

Class class_from_utf8proc(uint32_t cp) {
  // White_Space (what \s means in the Rust regex tiktoken uses): the separators
  // Zs, Zl, Zp plus these controls. U+001C..U+001F are not White_Space.
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x85) return Class::kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return Class::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return Class::kNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return Class::kSpace;
    default:
      return Class::kOther;
  }
}

/// Classes of U+0000..U+FFFF, one byte each (64 KiB), built on first use.
const Class* bmp_classes() {
  static const std::unique_ptr<std::array<Class, 0x10000>> table = [] {
    auto classes = std::make_unique<std::array<Class, 0x10000>>();
    for (uint32_t cp = 0; cp < 0x10000; ++cp) (*classes)[cp] = class_from_utf8proc(cp);
    return classes;
  }();
  return table->data();
}

/// Class of the code point at byte offset i of valid UTF-8 `p` (i < n); sets
/// `length` to its byte count.
inline Class class_at(const unsigned char* p, size_t i, const Class* bmp, size_t& length) {
  const unsigned char b = p[i];
  if (b < 0x80) {
    length = 1;
    return bmp[b];
  }
  if (b < 0xE0) {
    length = 2;
    return bmp[(b & 0x1Fu) << 6 | (p[i + 1] & 0x3Fu)];
  }
  if (b < 0xF0) {
    length = 3;
    return bmp[(b & 0x0Fu) << 12 | (p[i + 1] & 0x3Fu) << 6 | (p[i + 2] & 0x3Fu)];
  }
  length = 4;
  return class_from_utf8proc((b & 0x07u) << 18 | (p[i + 1] & 0x3Fu) << 12 | (p[i + 2] & 0x3Fu) << 6 |
                             (p[i + 3] & 0x3Fu));
}

/// End of the run of code points of class `cls` starting at byte offset i.
inline size_t run_end(const unsigned char* p, size_t n, size_t i, Class cls, const Class* bmp) {
  size_t length = 0;
  while (i < n && class_at(p, i, bmp, length) == cls) i += length;
  return i;
}

/// Length of the contraction ('s 'd 'm 't 'll 've 're, lower case only) at i, or 0.
size_t contraction_length(const unsigned char* p, size_t n, size_t i) {
  if (i + 1 >= n) return 0;
  const unsigned char a = p[i + 1];
  if (a == 's' || a == 'd' || a == 'm' || a == 't') return 2;
  if (i + 2 >= n) return 0;
  const unsigned char b = p[i + 2];
  if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e')) return 3;
  return 0;
}

/// End of the piece starting at byte offset i (< n).
size_t piece_end(const unsigned char* p, size_t n, size_t i, const Class* bmp) {
  if (p[i] == '\'') {
    if (const size_t length = contraction_length(p, n, i)) return i + length;
  }
  // " ?\p{L}++", " ?\p{N}++", " ?[^\s\p{L}\p{N}]++": one optional U+0020, then a run.
  size_t length = 0;
  if (p[i] == ' ' && i + 1 < n) {
    const Class next = class_at(p, i + 1, bmp, length);
    if (next != Class::kSpace) return run_end(p, n, i + 1 + length, next, bmp);
  }
  const Class first = class_at(p, i, bmp, length);
  if (first != Class::kSpace) return run_end(p, n, i + length, first, bmp);
  // Whitespace: "\s++$" (a run reaching the end), else "\s+(?!\S)" (the run less its
  // last character, which then starts the next piece), else "\s" (one character).
  size_t end = i + length, last = i;
  while (end < n && class_at(p, end, bmp, length) == Class::kSpace) {
    last = end;
    end += length;
  }
  if (end == n) return n;
  return last > i ? last : end;
}

}  // namespace

Gpt2CharClass gpt2_char_class(uint32_t cp) { return cp < 0x10000 ? bmp_classes()[cp] : class_from_utf8proc(cp); }

Gpt2PreTokenizer::Gpt2PreTokenizer(std::string_view text) : text_(text), bmp_classes_(bmp_classes()) {}

bool Gpt2PreTokenizer::next(std::string_view& piece) {
  if (position_ >= text_.size()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(text_.data());
  const size_t end = piece_end(p, text_.size(), position_, bmp_classes_);
  piece = text_.substr(position_, end - position_);
  position_ = end;
  return true;
}

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  Gpt2PreTokenizer splitter(text);
  for (std::string_view piece; splitter.next(piece);) pieces.push_back(piece);
  return pieces;
}

}  // namespace cocomix
