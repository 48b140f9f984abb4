// InputFile: a raw-file reader under a decoder per compression (plain copy,
// zlib inflate with gzip headers, zstd streaming, bzip2 streaming), plus a line splitter over a
// 1 MiB buffer of decompressed bytes.
#include "cocomix/util/input_file.h"

#include <bzlib.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;
// The first chunk is smaller, so that a small file (a label list, a config-sized input)
// does not cost a MiB buffer that is zeroed and mapped afresh for every file opened.
constexpr size_t kFirstChunkBytes = size_t{64} << 10;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Compression compression_of(const std::string& path) {
  if (ends_with(path, ".gz")) return Compression::kGzip;
  if (ends_with(path, ".zst")) return Compression::kZstd;
  if (ends_with(path, ".bz2")) return Compression::kBzip2;
  return Compression::kNone;
}

std::string without_compression_suffix(const std::string& path) {
  switch (compression_of(path)) {
    case Compression::kGzip:
      return path.substr(0, path.size() - 3);
    case Compression::kZstd:
    case Compression::kBzip2:
      return path.substr(0, path.size() - 4);
    case Compression::kNone:
      break;
  }
  return path;
}

/// Reads the file on disk and turns its bytes into content bytes.
class InputFile::Decoder {
 public:
  explicit Decoder(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (file_ == nullptr) throw_errno(path, "cannot open for reading", errno);
  }
  virtual ~Decoder() { std::fclose(file_); }
  /// Up to `capacity` content bytes; 0 only at the end.
  virtual size_t decode(char* out, size_t capacity) = 0;
  int64_t disk_bytes() const { return disk_bytes_; }

 protected:
  /// Raw bytes from disk; 0 at the end of the file.
  size_t read_raw(char* out, size_t capacity) {
    const size_t got = std::fread(out, 1, capacity, file_);
    if (got == 0 && std::ferror(file_)) throw_errno(path_, "read failed", errno);
    disk_bytes_ += static_cast<int64_t>(got);
    return got;
  }
  std::string path_;

 private:
  std::FILE* file_;
  int64_t disk_bytes_ = 0;
};

namespace {

class PlainDecoder final : public InputFile::Decoder {
 public:
  using Decoder::Decoder;
  size_t decode(char* out, size_t capacity) override { return read_raw(out, capacity); }
};

/// Compressed input: raw bytes are buffered in `in_` and fed to a stream decoder.
class StreamDecoder : public InputFile::Decoder {
 public:
  explicit StreamDecoder(const std::string& path) : Decoder(path), in_(kChunkBytes) {}

 protected:
  /// Refills the raw buffer when it is used up; false at the end of the file.
  bool have_input() {
    if (in_position_ < in_size_) return true;
    in_size_ = read_raw(in_.data(), in_.size());
    in_position_ = 0;
    return in_size_ > 0;
  }
  std::vector<char> in_;
  size_t in_position_ = 0, in_size_ = 0;
};

class GzipDecoder final : public StreamDecoder {
 public:
  explicit GzipDecoder(const std::string& path) : StreamDecoder(path) {
    if (inflateInit2(&stream_, 15 + 16) != Z_OK) throw RuntimeError(path + ": cannot initialise zlib");
  }
  ~GzipDecoder() override { inflateEnd(&stream_); }

  size_t decode(char* out, size_t capacity) override {
    size_t produced = 0;
    while (produced == 0) {
      // At the end of the file a member may still hold output that did not fit.
      const bool at_end = !have_input();
      if (at_end && !in_member_) return 0;
      stream_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_position_);
      stream_.avail_in = at_end ? 0 : static_cast<uInt>(in_size_ - in_position_);
      stream_.next_out = reinterpret_cast<Bytef*>(out);
      stream_.avail_out = static_cast<uInt>(capacity);
      in_member_ = true;
      const int status = inflate(&stream_, Z_NO_FLUSH);
      if (!at_end) in_position_ = in_size_ - stream_.avail_in;
      produced = capacity - stream_.avail_out;
      if (status == Z_STREAM_END) {
        in_member_ = false;
        inflateReset(&stream_);  // another gzip member may follow (concatenated .gz files)
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        throw RuntimeError(path_ + ": corrupt gzip data: " + (stream_.msg ? stream_.msg : zError(status)));
      }
      if (at_end && produced == 0 && in_member_)
        throw RuntimeError(path_ + ": truncated gzip data (the file ends inside a member)");
    }
    return produced;
  }

 private:
  z_stream stream_{};
  bool in_member_ = false;
};

class ZstdDecoder final : public StreamDecoder {
 public:
  explicit ZstdDecoder(const std::string& path) : StreamDecoder(path), context_(ZSTD_createDCtx()) {
    if (context_ == nullptr) throw RuntimeError(path + ": cannot initialise zstd");
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(context_); }

  size_t decode(char* out, size_t capacity) override {
    ZSTD_outBuffer output{out, capacity, 0};
    while (output.pos == 0) {
      // At the end of the file a frame may still hold output that did not fit.
      const bool at_end = !have_input();
      if (at_end && !in_frame_) return 0;
      ZSTD_inBuffer input{in_.data(), at_end ? 0 : in_size_, at_end ? 0 : in_position_};
      const size_t status = ZSTD_decompressStream(context_, &output, &input);
      if (!at_end) in_position_ = input.pos;
      if (ZSTD_isError(status)) throw RuntimeError(path_ + ": corrupt zstd data: " + ZSTD_getErrorName(status));
      in_frame_ = status != 0;  // 0: a frame just ended and is flushed
      if (at_end && output.pos == 0 && in_frame_)
        throw RuntimeError(path_ + ": truncated zstd data (the file ends inside a frame)");
    }
    return output.pos;
  }

 private:
  ZSTD_DCtx* context_;
  bool in_frame_ = false;
};

class Bzip2Decoder final : public StreamDecoder {
 public:
  explicit Bzip2Decoder(const std::string& path) : StreamDecoder(path) {
    if (BZ2_bzDecompressInit(&stream_, 0, 0) != BZ_OK) throw RuntimeError(path + ": cannot initialise bzip2");
  }
  ~Bzip2Decoder() override { BZ2_bzDecompressEnd(&stream_); }

  size_t decode(char* out, size_t capacity) override {
    size_t produced = 0;
    while (produced == 0) {
      // At the end of the file a stream may still hold output that did not fit.
      const bool at_end = !have_input();
      if (at_end && !in_stream_) return 0;
      stream_.next_in = in_.data() + in_position_;
      stream_.avail_in = at_end ? 0 : static_cast<unsigned>(in_size_ - in_position_);
      stream_.next_out = out;
      stream_.avail_out = static_cast<unsigned>(capacity);
      in_stream_ = true;
      const int status = BZ2_bzDecompress(&stream_);
      if (!at_end) in_position_ = in_size_ - stream_.avail_in;
      produced = capacity - stream_.avail_out;
      if (status == BZ_STREAM_END) {
        in_stream_ = false;  // another bzip2 stream may follow (concatenated .bz2 files)
        BZ2_bzDecompressEnd(&stream_);
        if (BZ2_bzDecompressInit(&stream_, 0, 0) != BZ_OK) throw RuntimeError(path_ + ": cannot initialise bzip2");
      } else if (status != BZ_OK) {
        throw RuntimeError(path_ + ": corrupt bzip2 data (error " + std::to_string(status) + ")");
      }
      if (at_end && produced == 0 && in_stream_)
        throw RuntimeError(path_ + ": truncated bzip2 data (the file ends inside a stream)");
    }
    return produced;
  }

 private:
  bz_stream stream_{};
  bool in_stream_ = false;
};

}  // namespace

InputFile::InputFile(const std::string& path) : path_(path) {
  switch (compression_of(path)) {
    case Compression::kGzip:
      decoder_ = std::make_unique<GzipDecoder>(path);
      break;
    case Compression::kZstd:
      decoder_ = std::make_unique<ZstdDecoder>(path);
      break;
    case Compression::kBzip2:
      decoder_ = std::make_unique<Bzip2Decoder>(path);
      break;
    case Compression::kNone:
      decoder_ = std::make_unique<PlainDecoder>(path);
      break;
  }
}

InputFile::~InputFile() = default;

int64_t InputFile::disk_bytes_read() const { return decoder_->disk_bytes(); }

bool InputFile::fill() {
  const size_t chunk = buffer_.empty() ? kFirstChunkBytes : kChunkBytes;
  if (buffer_.size() < chunk) buffer_.resize(chunk);
  position_ = 0;
  end_ = decoder_->decode(buffer_.data(), buffer_.size());
  return end_ > 0;
}

bool InputFile::read_line(std::string& line) {
  line.clear();
  bool any = false;
  for (;;) {
    if (position_ == end_ && !fill()) return any;
    any = true;
    const char* begin = buffer_.data() + position_;
    const auto* newline = static_cast<const char*>(std::memchr(begin, '\n', end_ - position_));
    if (newline != nullptr) {
      line.append(begin, newline);
      position_ += static_cast<size_t>(newline - begin) + 1;
      return true;
    }
    line.append(begin, end_ - position_);
    position_ = end_;
  }
}

std::string InputFile::read_all() {
  std::string text(buffer_.data() + position_, end_ - position_);
  position_ = end_;
  while (fill()) text.append(buffer_.data(), end_);
  position_ = end_;
  return text;
}

}  // namespace cocomix
