// Flat token files, memory-mapped read-only: llm.c shards (a 256 x int32 header
// [magic, version, token count], then uint16 or uint32 little-endian tokens) and
// nanoGPT's headerless uint16 .bin files. Plus a streaming writer that never
// leaves a file looking complete before it is. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace cocomix {

/// On-disk layout of a token file (DataConfig::format).
enum class TokenFormat {
  kAuto,  ///< reading: llm.c if the first int32 is a known magic, else headerless uint16; writing: as kLlmc
  kLlmc,  ///< llm.c shard: 1024-byte header, then uint16 (magic 20240520, v1) or uint32 (20240801, v7) tokens
  kU16,   ///< headerless little-endian uint16 tokens (nanoGPT's train.bin)
};

/// How a token file's map will be read, for the kernel's read-ahead.
enum class TokenAccess {
  kSequential,  ///< windows in file order: a page fault reads ahead around it (the kernel's default)
  kRandom,      ///< shuffled windows: a page fault reads its own page only (madvise MADV_RANDOM), so a
                ///< window of a few KiB does not pull in the read-ahead size (often MiBs) around it
};

/// llm.c header constants.
inline constexpr int64_t kLlmcHeaderInts = 256;
inline constexpr int64_t kLlmcHeaderBytes = kLlmcHeaderInts * 4;
inline constexpr int32_t kLlmcMagicU16 = 20240520;  ///< GPT-2 shards: version 1, uint16 tokens
inline constexpr int32_t kLlmcVersionU16 = 1;
inline constexpr int32_t kLlmcMagicU32 = 20240801;  ///< llama-3 shards: version 7, uint32 tokens
inline constexpr int32_t kLlmcVersionU32 = 7;

/// "auto" / "llmc" / "u16" -> TokenFormat. Throws UsageError naming the value otherwise.
TokenFormat parse_token_format(const std::string& name);

/// The config spelling of `format` ("auto", "llmc", "u16").
std::string token_format_name(TokenFormat format);

/// What a token file's size and header say, before any token is read.
struct TokenFileLayout {
  TokenFormat format = TokenFormat::kU16;  ///< kLlmc or kU16, never kAuto
  int token_bytes = 2;                     ///< 2 (uint16) or 4 (uint32)
  int64_t header_bytes = 0;                ///< kLlmcHeaderBytes or 0
  int64_t tokens = 0;
};

/// The layout of `path` from its size and first kLlmcHeaderBytes bytes, without
/// mapping it. Throws the RuntimeError TokenFile::open throws for a bad file.
TokenFileLayout probe_token_file(const std::string& path, TokenFormat format = TokenFormat::kAuto);

/// A read-only memory map of one token file. Move-only; the mapping lives as
/// long as the object. Token i is read straight from the mapped bytes.
class TokenFile {
 public:
  /// Maps `path`. Throws RuntimeError "PATH: ..." (one line) when the file is
  /// missing or unreadable, empty, has a bad magic (kLlmc), an unknown version,
  /// a truncated header, a size that disagrees with the header's token count, or
  /// an odd byte count (headerless uint16). `access` sets the map's read-ahead.
  static TokenFile open(const std::string& path, TokenFormat format = TokenFormat::kAuto,
                        TokenAccess access = TokenAccess::kSequential);

  TokenFile(TokenFile&& other) noexcept;
  TokenFile& operator=(TokenFile&& other) noexcept;
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;
  ~TokenFile();

  /// Number of tokens in the file.
  int64_t size() const { return size_; }
  /// Token `index`; throws RuntimeError outside [0, size()).
  uint32_t at(int64_t index) const;
  /// The path the file was opened with (for error messages).
  const std::string& path() const { return path_; }
  /// The layout actually found (kLlmc or kU16, never kAuto).
  TokenFormat format() const { return format_; }
  /// Bytes per token: 2 (uint16) or 4 (uint32).
  int token_bytes() const { return token_bytes_; }
  /// Copies tokens [begin, begin + count) widened to int64 into out[0..count).
  /// Throws RuntimeError naming the file when the range leaves [0, size()).
  void read(int64_t begin, int64_t count, int64_t* out) const;

 private:
  TokenFile() = default;
  void check_range(int64_t begin, int64_t count) const;
  void release();

  std::string path_;
  void* map_ = nullptr;                    ///< the whole file, mmap'ed (nullptr when moved from)
  size_t map_bytes_ = 0;                   ///< length of the mapping
  const unsigned char* tokens_ = nullptr;  ///< first token byte (after any header)
  int64_t size_ = 0;
  int token_bytes_ = 2;
  TokenFormat format_ = TokenFormat::kU16;
};

/// Streams tokens into PATH.tmp and renames it to PATH only in finish(), after
/// patching the header's token count and fsyncing, so an interrupted write never
/// leaves a file that looks complete. Destroying an unfinished writer deletes
/// PATH.tmp.
class TokenFileWriter {
 public:
  /// `format` kLlmc (or kAuto): llm.c shard, uint16 (magic 20240520) or uint32
  /// when `wide` (magic 20240801). kU16: headerless uint16 (`wide` is a
  /// UsageError). Throws RuntimeError if PATH.tmp cannot be created.
  explicit TokenFileWriter(const std::string& path, TokenFormat format = TokenFormat::kLlmc, bool wide = false);
  TokenFileWriter(const TokenFileWriter&) = delete;
  TokenFileWriter& operator=(const TokenFileWriter&) = delete;
  ~TokenFileWriter();

  /// Appends `count` ids. An id that does not fit the token width (>= 65536 for
  /// uint16) is a RuntimeError naming the file and the token position.
  void write(const uint32_t* ids, size_t count);
  /// Appends every id of `ids`.
  void write(const std::vector<uint32_t>& ids) { write(ids.data(), ids.size()); }
  /// Tokens written so far.
  int64_t count() const { return count_; }
  /// Final path (without ".tmp").
  const std::string& path() const { return path_; }
  /// Flushes, patches the header count, fsyncs, renames PATH.tmp -> PATH and
  /// fsyncs the directory. Further writes are errors.
  void finish();

 private:
  void flush_buffer();

  std::string path_;
  std::string tmp_path_;
  std::FILE* file_ = nullptr;  ///< PATH.tmp while writing
  bool header_ = true;
  bool wide_ = false;
  bool finished_ = false;
  int64_t count_ = 0;
  std::vector<unsigned char> buffer_;
};

/// Writes `ids` to `path` in one go through TokenFileWriter.
void write_token_file(const std::string& path, const std::vector<uint32_t>& ids,
                      TokenFormat format = TokenFormat::kLlmc, bool wide = false);

}  // namespace cocomix
