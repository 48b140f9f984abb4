// Python str semantics on UTF-8 text (see python_text.h). Whitespace is the set
// str.isspace() accepts: bidirectional class WS, B or S, or category Zs.
#include "cocomix/eval/tasks/python_text.h"

#include <cctype>

#include "cocomix/util/utf8.h"

namespace cocomix {
namespace {

/// The code point at text[i] and its length in bytes (an invalid byte is itself, length 1).
uint32_t code_point_at(std::string_view text, size_t i, size_t& length) {
  length = utf8_sequence_length(text, i);
  const auto b = static_cast<unsigned char>(text[i]);
  if (length <= 1) {
    length = 1;
    return b;
  }
  uint32_t cp = b & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return cp;
}

bool is_python_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

/// Byte offset just past the last non-whitespace code point of `text`.
size_t rstrip_end(std::string_view text) {
  size_t end = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t space = python_space_length(text, i);
    if (space > 0) {
      i += space;
    } else {
      size_t length = 0;
      code_point_at(text, i, length);
      i += length;
      end = i;
    }
  }
  return end;
}

}  // namespace

size_t python_space_length(std::string_view text, size_t i) {
  size_t length = 0;
  return is_python_space(code_point_at(text, i, length)) ? length : 0;
}

std::string_view python_rstrip(std::string_view text) { return text.substr(0, rstrip_end(text)); }

std::string_view python_strip(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t space = python_space_length(text, begin);
    if (space == 0) break;
    begin += space;
  }
  return python_rstrip(text.substr(begin));
}

int64_t python_length(std::string_view text) {
  int64_t count = 0;
  for (size_t i = 0; i < text.size();) {
    size_t length = 0;
    code_point_at(text, i, length);
    i += length;
    ++count;
  }
  return count;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

int64_t python_whitespace_split_count(std::string_view text) {
  int64_t runs = 0;
  bool in_run = false;
  for (size_t i = 0; i < text.size();) {
    const size_t space = python_space_length(text, i);
    if (space > 0) {
      if (!in_run) ++runs;
      in_run = true;
      i += space;
    } else {
      in_run = false;
      size_t length = 0;
      code_point_at(text, i, length);
      i += length;
    }
  }
  return runs + 1;
}

std::string ascii_capitalize(std::string_view text) {
  std::string out(text);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c >= 0x80) continue;
    out[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace cocomix
