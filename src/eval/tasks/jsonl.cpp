// Task data files: JSON Lines rows and label files, each error naming FILE:LINE.
#include "cocomix/eval/tasks/jsonl.h"

#include <charconv>

#include "cocomix/util/error.h"
#include "cocomix/util/input_file.h"

namespace cocomix {
namespace {

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

std::string shortened(const std::string& text) { return text.size() <= 40 ? text : text.substr(0, 40) + "..."; }

}  // namespace

std::vector<JsonRow> read_jsonl(const std::string& path, int64_t limit) {
  InputFile file(path);
  std::vector<JsonRow> rows;
  std::string line;
  int64_t line_number = 0;
  while ((limit <= 0 || static_cast<int64_t>(rows.size()) < limit) && file.read_line(line)) {
    ++line_number;
    if (is_blank(line)) continue;
    const std::string source = path + ":" + std::to_string(line_number);
    auto value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded())
      throw RuntimeError(source + ": not valid JSON (\"" + shortened(line) + "\"); expected one JSON object per line");
    if (!value.is_object()) throw RuntimeError(source + ": expected a JSON object per line, got " + value.type_name());
    rows.push_back({std::move(value), source});
  }
  if (rows.empty()) throw RuntimeError(path + ": empty file; expected one JSON object per line");
  return rows;
}

size_t count_jsonl_rows(const std::string& path) {
  InputFile file(path);
  std::string line;
  size_t rows = 0;
  while (file.read_line(line))
    if (!is_blank(line)) ++rows;
  return rows;
}

std::vector<std::string> read_label_lines(const std::string& path, size_t expected, const std::string& data_path) {
  InputFile file(path);
  std::vector<std::string> lines;
  std::string line;
  while (file.read_line(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (lines.empty()) throw RuntimeError(path + ": empty file; expected one label per line of " + data_path);
  if (lines.size() != expected)
    throw RuntimeError(path + ":" + std::to_string(std::min(lines.size(), expected) + 1) + ": has " +
                       std::to_string(lines.size()) + " label lines but " + data_path + " has " +
                       std::to_string(expected) + " rows; the files must be aligned line by line");
  return lines;
}

std::string string_field(const JsonRow& row, const char* key) {
  const auto it = row.value.find(key);
  if (it == row.value.end()) throw RuntimeError(row.source + ": missing field \"" + key + "\"");
  if (!it->is_string())
    throw RuntimeError(row.source + ": field \"" + key + "\" must be a string, got " + it->type_name());
  return it->get<std::string>();
}

int64_t parse_label(const std::string& text, int64_t first, int64_t count, const std::string& source) {
  int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || value < first || value >= first + count)
    throw RuntimeError(source + ": label \"" + shortened(text) + "\" is out of range; expected an integer from " +
                       std::to_string(first) + " to " + std::to_string(first + count - 1));
  return value - first;
}

}  // namespace cocomix
