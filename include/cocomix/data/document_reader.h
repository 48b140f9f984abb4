// The documents of cocomix-tokenize's inputs, in a fixed order: text files (one
// document per file, or per blank-line-separated block) and JSON-lines files
// (one document per row, its text in a chosen field), each optionally .gz or
// .zst; directories are walked in sorted order. No LibTorch here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cocomix/util/input_file.h"

namespace cocomix {

struct DocumentReaderOptions {
  std::string text_field = "text";  ///< the string field of a JSON-lines row that holds its text
  bool blocks = false;              ///< text files: one document per blank-line-separated block
  bool skip_bad = false;            ///< skip (and count) rows that are not JSON or lack the field
};

/// One document and where it came from.
struct InputDocument {
  std::string text;
  std::string path;  ///< the input file
  int64_t line = 0;  ///< first line of the row or block (1-based); 0 for a whole file
};

/// The regular files of `inputs` in order: files as given, directories walked
/// recursively in sorted path order (names starting with "." skipped). Throws
/// RuntimeError "PATH: no such file or directory" or "PATH: not a regular file".
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

/// True when `path` (less any .gz / .zst) ends in ".jsonl".
bool is_jsonl(const std::string& path);

class DocumentReader {
 public:
  DocumentReader(std::vector<std::string> files, DocumentReaderOptions options);
  ~DocumentReader();

  /// The next document; false after the last. Throws RuntimeError "PATH:LINE: ..."
  /// for a bad JSON-lines row unless options.skip_bad, and for unreadable files.
  /// Blank rows of a JSON-lines file, and blank text blocks, are no documents.
  bool next(InputDocument& document);

  /// JSON-lines rows skipped as bad so far (options.skip_bad).
  int64_t skipped_rows() const { return skipped_rows_; }
  /// Bytes of the input files on disk consumed so far, and their total size.
  int64_t disk_bytes_read() const;
  int64_t disk_bytes_total() const { return disk_bytes_total_; }

 private:
  bool next_jsonl_row(InputDocument& document);
  bool next_block(InputDocument& document);

  std::vector<std::string> files_;
  DocumentReaderOptions options_;
  size_t next_file_ = 0;
  std::unique_ptr<InputFile> current_;  ///< the file being read row by row or block by block
  int64_t line_ = 0;                    ///< lines of current_ read so far
  int64_t skipped_rows_ = 0;
  int64_t disk_bytes_done_ = 0;  ///< of the files finished
  int64_t disk_bytes_total_ = 0;
  std::string line_buffer_;
};

}  // namespace cocomix
