// Reading the task data files: JSON Lines rows with their line numbers, typed
// fields, and one-label-per-line files that must match the data file's row
// count. Every error is one line "FILE:LINE: what is wrong".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cocomix {

struct JsonRow {
  nlohmann::json value;  ///< the row, a JSON object
  std::string source;    ///< "FILE:LINE"
};

/// Every non-blank line of `path` parsed as a JSON object; at most `limit` rows
/// when limit > 0. Throws RuntimeError for a missing or empty file or a line
/// that is not a JSON object.
std::vector<JsonRow> read_jsonl(const std::string& path, int64_t limit);

/// The lines of `path` (trailing "\r" removed, a final newline allowed). Throws
/// RuntimeError when the file is missing or empty, or when its line count is
/// not `expected` (the row count of `data_path`).
std::vector<std::string> read_label_lines(const std::string& path, size_t expected, const std::string& data_path);

/// Number of non-blank lines of `path` (the rows read_jsonl would return without a limit).
size_t count_jsonl_rows(const std::string& path);

/// row[key] as a string; RuntimeError "FILE:LINE: missing string field \"key\"".
std::string string_field(const JsonRow& row, const char* key);

/// An integer label from text ("0", "1", ...) that must lie in [first, first + count):
/// RuntimeError "SOURCE: label \"x\" is not ..." otherwise. Returns label - first.
int64_t parse_label(const std::string& text, int64_t first, int64_t count, const std::string& source);

}  // namespace cocomix
