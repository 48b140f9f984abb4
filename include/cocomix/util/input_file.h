// Sequential reading of input text, decompressing by file name: ".gz" through
// zlib (concatenated gzip members too), ".zst" through libzstd, ".bz2" through
// libbz2, anything else as is. Whole files, lines, or raw chunks; corrupt or truncated data is a
// one-line RuntimeError naming the file. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace cocomix {

enum class Compression { kNone, kGzip, kZstd, kBzip2 };

/// kGzip for a name ending in ".gz", kZstd for ".zst", kBzip2 for ".bz2", else kNone.
Compression compression_of(const std::string& path);

/// `path` without a ".gz" / ".zst" / ".bz2" ending: the name that tells the content type.
std::string without_compression_suffix(const std::string& path);

class InputFile {
 public:
  /// Opens `path`. Throws RuntimeError "PATH: cannot open for reading: REASON".
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// The next line without its "\n" (a last line without one counts too); false at the end.
  bool read_line(std::string& line);
  /// Everything not read yet.
  std::string read_all();

  /// Bytes of the file on disk consumed so far (compressed bytes for .gz / .zst).
  int64_t disk_bytes_read() const;
  const std::string& path() const { return path_; }

  class Decoder;  ///< one per compression (src/util/input_file.cpp)

 private:
  /// Refills buffer_ from the decoder; false at the end of the data.
  bool fill();

  std::string path_;
  std::unique_ptr<Decoder> decoder_;
  std::string buffer_;   ///< decompressed bytes not handed out yet: [position_, end_)
  size_t position_ = 0;  ///< next unread byte of buffer_
  size_t end_ = 0;
};

}  // namespace cocomix
