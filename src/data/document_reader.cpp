// DocumentReader: walks the expanded input files; whole text files are read at
// once, JSON-lines files row by row (nlohmann::json per row), text files in
// block mode line by line.
#include "cocomix/data/document_reader.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

bool is_jsonl(const std::string& path) {
  const std::string name = without_compression_suffix(path);
  return name.size() >= 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code error;
    const auto status = fs::status(input, error);
    if (!fs::exists(status)) throw RuntimeError(input + ": no such file or directory");
    if (fs::is_regular_file(status)) {
      files.push_back(input);
      continue;
    }
    if (!fs::is_directory(status)) throw RuntimeError(input + ": not a regular file or directory");
    std::vector<std::string> found;
    fs::recursive_directory_iterator walk(input, fs::directory_options::follow_directory_symlink, error);
    if (error) throw RuntimeError(input + ": cannot list directory: " + error.message());
    for (auto it = walk; it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (error) throw RuntimeError(input + ": cannot list directory: " + error.message());
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

DocumentReader::DocumentReader(std::vector<std::string> files, DocumentReaderOptions options)
    : files_(std::move(files)), options_(std::move(options)) {
  for (const auto& file : files_) {
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (!error) disk_bytes_total_ += static_cast<int64_t>(size);
  }
}

DocumentReader::~DocumentReader() = default;

int64_t DocumentReader::disk_bytes_read() const {
  return disk_bytes_done_ + (current_ ? current_->disk_bytes_read() : 0);
}

bool DocumentReader::next(InputDocument& document) {
  for (;;) {
    if (current_) {
      const bool got = is_jsonl(current_->path()) ? next_jsonl_row(document) : next_block(document);
      if (got) return true;
      disk_bytes_done_ += current_->disk_bytes_read();
      current_.reset();
    }
    if (next_file_ == files_.size()) return false;
    const std::string& path = files_[next_file_++];
    auto file = std::make_unique<InputFile>(path);
    line_ = 0;
    if (is_jsonl(path) || options_.blocks) {
      current_ = std::move(file);
      continue;
    }
    document.text = file->read_all();
    document.path = path;
    document.line = 0;
    disk_bytes_done_ += file->disk_bytes_read();
    return true;
  }
}

bool DocumentReader::next_jsonl_row(InputDocument& document) {
  while (current_->read_line(line_buffer_)) {
    ++line_;
    if (is_blank(line_buffer_)) continue;
    const std::string where = current_->path() + ":" + std::to_string(line_);
    json row;
    std::string problem;
    try {
      row = json::parse(line_buffer_);
    } catch (const json::exception& e) {  // parse_error, or out_of_range for a number beyond a double
      problem = std::string("not valid JSON: ") + e.what();
    }
    if (problem.empty()) {
      const auto field = row.is_object() ? row.find(options_.text_field) : row.end();
      if (!row.is_object() || field == row.end())
        problem = "no field \"" + options_.text_field + "\" (choose the field with --text-field)";
      else if (!field->is_string())
        problem = "field \"" + options_.text_field + "\" is a " + field->type_name() + ", not a string";
      else
        document.text = field->get<std::string>();
    }
    if (!problem.empty()) {
      if (!options_.skip_bad) throw RuntimeError(where + ": " + problem + " (or pass --skip-bad)");
      ++skipped_rows_;
      continue;
    }
    document.path = current_->path();
    document.line = line_;
    return true;
  }
  return false;
}

bool DocumentReader::next_block(InputDocument& document) {
  document.text.clear();
  bool in_block = false;
  while (current_->read_line(line_buffer_)) {
    ++line_;
    if (is_blank(line_buffer_)) {
      if (in_block) return true;
      continue;
    }
    if (in_block) {
      document.text += '\n';
    } else {
      in_block = true;
      document.path = current_->path();
      document.line = line_;
    }
    document.text += line_buffer_;
  }
  return in_block;
}

}  // namespace cocomix
