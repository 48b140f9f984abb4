// Token files: mmap'ed reading of llm.c shards and headerless uint16 files with
// a one-line error for every way the file can be wrong, and a streaming writer
// that writes PATH.tmp, patches the header count, fsyncs and renames.
#include "cocomix/data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

constexpr size_t kWriteBufferBytes = size_t{1} << 20;

uint32_t load_le16(const unsigned char* p) { return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8; }

uint32_t load_le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

int32_t load_le_int32(const unsigned char* p) {
  const uint32_t u = load_le32(p);
  int32_t value;
  std::memcpy(&value, &u, sizeof value);
  return value;
}

void store_le(unsigned char* p, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<unsigned char>(value >> (8 * i));
}

bool is_known_magic(int32_t magic) { return magic == kLlmcMagicU16 || magic == kLlmcMagicU32; }

std::vector<unsigned char> llmc_header(bool wide, int32_t count) {
  std::vector<unsigned char> header(kLlmcHeaderBytes, 0);
  store_le(header.data(), static_cast<uint32_t>(wide ? kLlmcMagicU32 : kLlmcMagicU16), 4);
  store_le(header.data() + 4, static_cast<uint32_t>(wide ? kLlmcVersionU32 : kLlmcVersionU16), 4);
  store_le(header.data() + 8, static_cast<uint32_t>(count), 4);
  return header;
}

}  // namespace

TokenFormat parse_token_format(const std::string& name) {
  if (name == "auto") return TokenFormat::kAuto;
  if (name == "llmc") return TokenFormat::kLlmc;
  if (name == "u16") return TokenFormat::kU16;
  throw UsageError("unknown token file format \"" + name + "\" (expected auto, llmc or u16)");
}

std::string token_format_name(TokenFormat format) {
  switch (format) {
    case TokenFormat::kAuto:
      return "auto";
    case TokenFormat::kLlmc:
      return "llmc";
    case TokenFormat::kU16:
      return "u16";
  }
  return "auto";
}

// ---- reading -----------------------------------------------------------------

namespace {

/// An open descriptor of a regular, non-empty file and its size; closes on destruction.
struct OpenedFile {
  int fd = -1;
  int64_t bytes = 0;
  ~OpenedFile() {
    if (fd >= 0) ::close(fd);
  }
};

void open_regular_file(const std::string& path, OpenedFile& file) {
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) throw_errno(path, "cannot open token file", errno);
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) throw_errno(path, "cannot stat token file", errno);
  if (!S_ISREG(info.st_mode)) throw RuntimeError(path + ": not a regular file");
  file.bytes = static_cast<int64_t>(info.st_size);
  if (file.bytes == 0) throw RuntimeError(path + ": token file is empty");
}

/// The layout of a file of `file_bytes` bytes from its first bytes `head`
/// (kLlmcHeaderBytes of them, or the whole file when shorter).
TokenFileLayout layout_of(const std::string& path, int64_t file_bytes, const unsigned char* head, TokenFormat format) {
  if (format == TokenFormat::kAuto)
    format = file_bytes >= 4 && is_known_magic(load_le_int32(head)) ? TokenFormat::kLlmc : TokenFormat::kU16;
  TokenFileLayout layout;
  layout.format = format;
  if (format == TokenFormat::kU16) {
    if (file_bytes % 2 != 0)
      throw RuntimeError(path + ": headerless uint16 token file holds an odd number of bytes (" +
                         std::to_string(file_bytes) + ")");
    layout.tokens = file_bytes / 2;
    return layout;
  }
  if (file_bytes < kLlmcHeaderBytes)
    throw RuntimeError(path + ": truncated llm.c header: the file holds " + std::to_string(file_bytes) +
                       " bytes, the header needs " + std::to_string(kLlmcHeaderBytes));
  const int32_t magic = load_le_int32(head);
  const int32_t version = load_le_int32(head + 4);
  const int32_t count = load_le_int32(head + 8);
  if (!is_known_magic(magic))
    throw RuntimeError(path + ": not an llm.c token shard: magic " + std::to_string(magic) + " (expected " +
                       std::to_string(kLlmcMagicU16) + " or " + std::to_string(kLlmcMagicU32) + ")");
  const int32_t expected_version = magic == kLlmcMagicU16 ? kLlmcVersionU16 : kLlmcVersionU32;
  if (version != expected_version)
    throw RuntimeError(path + ": llm.c shard with magic " + std::to_string(magic) + " has unknown version " +
                       std::to_string(version) + " (expected " + std::to_string(expected_version) + ")");
  if (count < 0) throw RuntimeError(path + ": header token count " + std::to_string(count) + " is negative");
  layout.token_bytes = magic == kLlmcMagicU16 ? 2 : 4;
  layout.header_bytes = kLlmcHeaderBytes;
  const int64_t expected_bytes = kLlmcHeaderBytes + int64_t{count} * layout.token_bytes;
  if (expected_bytes != file_bytes)
    throw RuntimeError(path + ": header says " + std::to_string(count) + " tokens (" + std::to_string(expected_bytes) +
                       " bytes) but the file holds " + std::to_string(file_bytes) + " bytes");
  layout.tokens = count;
  return layout;
}

}  // namespace

TokenFileLayout probe_token_file(const std::string& path, TokenFormat format) {
  OpenedFile file;
  open_regular_file(path, file);
  unsigned char head[kLlmcHeaderBytes] = {};
  const auto wanted = static_cast<size_t>(std::min<int64_t>(file.bytes, kLlmcHeaderBytes));
  size_t got = 0;
  while (got < wanted) {
    const ssize_t n = ::pread(file.fd, head + got, wanted - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(path, "cannot read token file", n < 0 ? errno : EIO);
    got += static_cast<size_t>(n);
  }
  return layout_of(path, file.bytes, head, format);
}

TokenFile TokenFile::open(const std::string& path, TokenFormat format, TokenAccess access) {
  TokenFile file;
  file.path_ = path;
  {
    OpenedFile opened;
    open_regular_file(path, opened);
    void* map = ::mmap(nullptr, static_cast<size_t>(opened.bytes), PROT_READ, MAP_PRIVATE, opened.fd, 0);
    if (map == MAP_FAILED) throw_errno(path, "cannot mmap token file", errno);
    file.map_ = map;  // the mapping keeps the file open once the descriptor closes
    file.map_bytes_ = static_cast<size_t>(opened.bytes);
    if (access == TokenAccess::kRandom && ::madvise(map, file.map_bytes_, MADV_RANDOM) != 0)
      throw_errno(path, "cannot madvise token file", errno);
  }
  const auto* bytes = static_cast<const unsigned char*>(file.map_);
  const auto layout = layout_of(path, static_cast<int64_t>(file.map_bytes_), bytes, format);
  file.format_ = layout.format;
  file.token_bytes_ = layout.token_bytes;
  file.tokens_ = bytes + layout.header_bytes;
  file.size_ = layout.tokens;
  return file;
}

TokenFile::TokenFile(TokenFile&& other) noexcept { *this = std::move(other); }

TokenFile& TokenFile::operator=(TokenFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    tokens_ = std::exchange(other.tokens_, nullptr);
    size_ = std::exchange(other.size_, 0);
    token_bytes_ = other.token_bytes_;
    format_ = other.format_;
  }
  return *this;
}

TokenFile::~TokenFile() { release(); }

void TokenFile::release() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
  map_ = nullptr;
  map_bytes_ = 0;
  tokens_ = nullptr;
  size_ = 0;
}

void TokenFile::check_range(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin > size_ || count > size_ - begin)
    throw RuntimeError(path_ + ": tokens [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                       ") are outside the file's " + std::to_string(size_) + " tokens");
}

uint32_t TokenFile::at(int64_t index) const {
  check_range(index, 1);
  const unsigned char* p = tokens_ + index * token_bytes_;
  return token_bytes_ == 2 ? load_le16(p) : load_le32(p);
}

void TokenFile::read(int64_t begin, int64_t count, int64_t* out) const {
  check_range(begin, count);
  const unsigned char* p = tokens_ + begin * token_bytes_;
  if (token_bytes_ == 2) {
    for (int64_t i = 0; i < count; ++i) out[i] = load_le16(p + 2 * i);
  } else {
    for (int64_t i = 0; i < count; ++i) out[i] = load_le32(p + 4 * i);
  }
}

// ---- writing -----------------------------------------------------------------

TokenFileWriter::TokenFileWriter(const std::string& path, TokenFormat format, bool wide)
    : path_(path), tmp_path_(path + ".tmp"), header_(format != TokenFormat::kU16), wide_(wide) {
  if (wide && !header_) throw UsageError(path + ": a headerless u16 token file cannot hold 32-bit ids");
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (file_ == nullptr) throw_errno(tmp_path_, "cannot open for writing", errno);
  if (header_) buffer_ = llmc_header(wide_, 0);  // count patched in finish()
  buffer_.reserve(kWriteBufferBytes);
}

TokenFileWriter::~TokenFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) ::unlink(tmp_path_.c_str());
}

void TokenFileWriter::write(const uint32_t* ids, size_t count) {
  if (finished_) throw RuntimeError(path_ + ": write after finish()");
  const int bytes = wide_ ? 4 : 2;
  const uint64_t limit = wide_ ? uint64_t{1} << 32 : uint64_t{1} << 16;
  if (header_ && static_cast<uint64_t>(count_) + count > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
    throw RuntimeError(path_ + ": more than " + std::to_string(std::numeric_limits<int32_t>::max()) +
                       " tokens do not fit an llm.c header's count (write several shards)");
  for (size_t i = 0; i < count; ++i)  // check first, so a bad id leaves the writer unchanged
    if (ids[i] >= limit)
      throw RuntimeError(path_ + ": token id " + std::to_string(ids[i]) + " at position " +
                         std::to_string(count_ + static_cast<int64_t>(i)) +
                         " does not fit a uint16 token file (ids must be < 65536; write a wide llm.c shard)");
  for (size_t i = 0; i < count;) {  // as many ids as the buffer has room for, then a flush
    const size_t take = std::min(count - i, (kWriteBufferBytes - buffer_.size()) / bytes);
    const size_t at = buffer_.size();
    buffer_.resize(at + take * bytes);
    for (size_t j = 0; j < take; ++j) store_le(buffer_.data() + at + j * bytes, ids[i + j], bytes);
    i += take;
    if (buffer_.size() + bytes > kWriteBufferBytes) flush_buffer();
  }
  count_ += static_cast<int64_t>(count);
}

void TokenFileWriter::flush_buffer() {
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
    throw_errno(tmp_path_, "write failed", errno);
  buffer_.clear();
}

void TokenFileWriter::finish() {
  if (finished_) throw RuntimeError(path_ + ": finish() called twice");
  flush_buffer();
  if (header_) {
    const auto header = llmc_header(wide_, static_cast<int32_t>(count_));
    if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(header.data(), 1, header.size(), file_) != header.size())
      throw_errno(tmp_path_, "cannot write the header", errno);
  }
  if (std::fflush(file_) != 0) throw_errno(tmp_path_, "write failed", errno);
  if (::fsync(::fileno(file_)) != 0) throw_errno(tmp_path_, "cannot fsync", errno);
  if (std::fclose(std::exchange(file_, nullptr)) != 0) throw_errno(tmp_path_, "close failed", errno);
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    throw_errno(path_, "cannot rename " + tmp_path_ + " into place", errno);
  finished_ = true;
  fsync_parent_directory(path_);
}

void write_token_file(const std::string& path, const std::vector<uint32_t>& ids, TokenFormat format, bool wide) {
  TokenFileWriter writer(path, format, wide);
  writer.write(ids);
  writer.finish();
}

}  // namespace cocomix
