// Python str semantics the harness's task code relies on, on UTF-8 text:
// Unicode whitespace as str.isspace / re's \s see it, strip/rstrip, len() in
// code points, str.replace, and the piece count of re.split(r"\s+", s).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cocomix {

/// Bytes of the whitespace code point starting at text[i] (Python str.isspace),
/// or 0 when text[i] does not start one.
size_t python_space_length(std::string_view text, size_t i);

/// Python's str.strip() / str.rstrip() with no argument (Unicode whitespace).
std::string_view python_strip(std::string_view text);
std::string_view python_rstrip(std::string_view text);

/// Python's len(str): the number of code points (continuation bytes not counted).
int64_t python_length(std::string_view text);

/// Python's str.replace(from, to): every non-overlapping occurrence, left to right.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

/// len(re.split(r"\s+", text)): one more than the number of maximal whitespace runs.
int64_t python_whitespace_split_count(std::string_view text);

/// Python's str.capitalize() for ASCII letters: the first character upper case,
/// every later one lower case (other code points are left as they are).
std::string ascii_capitalize(std::string_view text);

}  // namespace cocomix
