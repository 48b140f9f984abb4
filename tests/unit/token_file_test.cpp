// Token files: llm.c uint16/uint32 shards and headerless uint16 files built byte
// by byte here, the writer's bytes on disk, and the exact one-line error for
// every way a token file can be wrong.
#include "cocomix/data/token_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using Bytes = std::vector<unsigned char>;

/// A file name in this process's scratch directory, which is removed at exit.
std::string temp_path(const std::string& name) {
  static const struct Scratch {
    std::string dir = ::testing::TempDir() + "cocomix_token_file_test_" + std::to_string(::getpid());
    Scratch() { std::filesystem::create_directories(dir); }
    ~Scratch() { std::filesystem::remove_all(dir); }
  } scratch;
  return scratch.dir + "/" + name;
}

void append_le(Bytes& bytes, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes.push_back(static_cast<unsigned char>(value >> (8 * i)));
}

/// An llm.c header: magic, version, count, then 253 zero ints.
Bytes header(int32_t magic, int32_t version, int32_t count) {
  Bytes bytes;
  append_le(bytes, static_cast<uint32_t>(magic), 4);
  append_le(bytes, static_cast<uint32_t>(version), 4);
  append_le(bytes, static_cast<uint32_t>(count), 4);
  bytes.resize(1024, 0);
  return bytes;
}

std::string write_bytes(const std::string& name, const Bytes& bytes) {
  const auto path = temp_path(name);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string open_error(const std::string& path, TokenFormat format = TokenFormat::kAuto) {
  try {
    TokenFile::open(path, format);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

std::vector<int64_t> all_tokens(const TokenFile& file) {
  std::vector<int64_t> tokens(static_cast<size_t>(file.size()));
  file.read(0, file.size(), tokens.data());
  return tokens;
}

TEST(TokenFile, ParsesFormatNames) {
  EXPECT_EQ(parse_token_format("auto"), TokenFormat::kAuto);
  EXPECT_EQ(parse_token_format("llmc"), TokenFormat::kLlmc);
  EXPECT_EQ(parse_token_format("u16"), TokenFormat::kU16);
  EXPECT_EQ(token_format_name(TokenFormat::kU16), "u16");
  try {
    parse_token_format("bin");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "unknown token file format \"bin\" (expected auto, llmc or u16)");
  }
}

TEST(TokenFile, ReadsHeaderlessU16LittleEndian) {
  const auto path = write_bytes("raw.bin", {0x01, 0x00, 0xff, 0xff, 0x34, 0x12});
  const auto file = TokenFile::open(path);
  EXPECT_EQ(file.format(), TokenFormat::kU16);
  EXPECT_EQ(file.size(), 3);
  EXPECT_EQ(file.at(0), 1u);
  EXPECT_EQ(file.at(1), 65535u);
  EXPECT_EQ(file.at(2), 0x1234u);
  int64_t out[2];
  file.read(1, 2, out);
  EXPECT_EQ(out[0], 65535);
  EXPECT_EQ(out[1], 4660);
}

TEST(TokenFile, ReadsLlmcUint16Shard) {
  Bytes bytes = header(20240520, 1, 3);
  for (uint32_t token : {7u, 50256u, 300u}) append_le(bytes, token, 2);
  const auto path = write_bytes("gpt2.bin", bytes);
  const auto file = TokenFile::open(path);
  EXPECT_EQ(file.format(), TokenFormat::kLlmc);
  EXPECT_EQ(file.token_bytes(), 2);
  EXPECT_EQ(all_tokens(file), (std::vector<int64_t>{7, 50256, 300}));
  // Forced headerless, the header's first int32 (0x0134D888) reads as tokens 0xD888, 0x0134.
  const auto raw = TokenFile::open(path, TokenFormat::kU16);
  EXPECT_EQ(raw.size(), (1024 + 6) / 2);
  EXPECT_EQ(raw.at(0), 55432u);
  EXPECT_EQ(raw.at(1), 308u);
  EXPECT_EQ(raw.at(512), 7u);
}

TEST(TokenFile, ReadsLlmcUint32Shard) {
  Bytes bytes = header(20240801, 7, 2);
  for (uint32_t token : {70000u, 128255u}) append_le(bytes, token, 4);
  const auto file = TokenFile::open(write_bytes("llama.bin", bytes), TokenFormat::kLlmc);
  EXPECT_EQ(file.token_bytes(), 4);
  EXPECT_EQ(all_tokens(file), (std::vector<int64_t>{70000, 128255}));
}

TEST(TokenFile, ReportsEveryBadFileInOneLine) {
  const auto missing = temp_path("missing.bin");
  EXPECT_EQ(open_error(missing), missing + ": cannot open token file: No such file or directory");
  const auto empty = write_bytes("empty.bin", {});
  EXPECT_EQ(open_error(empty), empty + ": token file is empty");
  const auto odd = write_bytes("odd.bin", {1, 2, 3});
  EXPECT_EQ(open_error(odd), odd + ": headerless uint16 token file holds an odd number of bytes (3)");

  Bytes bad_magic = header(12345, 1, 0);
  const auto magic = write_bytes("magic.bin", bad_magic);
  EXPECT_EQ(open_error(magic, TokenFormat::kLlmc),
            magic + ": not an llm.c token shard: magic 12345 (expected 20240520 or 20240801)");
  EXPECT_EQ(open_error(magic), "");  // auto: no known magic, so a (valid) headerless file

  const auto version = write_bytes("version.bin", header(20240520, 2, 0));
  EXPECT_EQ(open_error(version), version + ": llm.c shard with magic 20240520 has unknown version 2 (expected 1)");
  const auto version32 = write_bytes("version32.bin", header(20240801, 1, 0));
  EXPECT_EQ(open_error(version32), version32 + ": llm.c shard with magic 20240801 has unknown version 1 (expected 7)");

  Bytes short_header = header(20240520, 1, 0);
  short_header.resize(100);
  const auto truncated = write_bytes("truncated.bin", short_header);
  EXPECT_EQ(open_error(truncated),
            truncated + ": truncated llm.c header: the file holds 100 bytes, the header needs 1024");

  Bytes few = header(20240520, 1, 10);
  for (int i = 0; i < 5; ++i) append_le(few, 1, 2);
  const auto mismatch = write_bytes("mismatch.bin", few);
  EXPECT_EQ(open_error(mismatch), mismatch + ": header says 10 tokens (1044 bytes) but the file holds 1034 bytes");
  Bytes wide = header(20240801, 7, 3);
  for (int i = 0; i < 3; ++i) append_le(wide, 1, 2);  // 2-byte tokens in a 4-byte shard
  const auto narrow = write_bytes("narrow.bin", wide);
  EXPECT_EQ(open_error(narrow), narrow + ": header says 3 tokens (1036 bytes) but the file holds 1030 bytes");

  const auto negative = write_bytes("negative.bin", header(20240520, 1, -1));
  EXPECT_EQ(open_error(negative), negative + ": header token count -1 is negative");
}

TEST(TokenFile, RejectsReadsOutsideTheFile) {
  const auto path = write_bytes("range.bin", {1, 0, 2, 0, 3, 0});
  const auto file = TokenFile::open(path);
  int64_t out[4];
  try {
    file.read(2, 3, out);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": tokens [2, 5) are outside the file's 3 tokens");
  }
  EXPECT_THROW(file.at(-1), RuntimeError);
  EXPECT_THROW(file.at(3), RuntimeError);
  file.read(3, 0, out);  // an empty range at the end is fine
}

TEST(TokenFile, IsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<TokenFile>);
  auto file = TokenFile::open(write_bytes("move.bin", {5, 0, 6, 0}));
  TokenFile moved = std::move(file);
  EXPECT_EQ(moved.size(), 2);
  EXPECT_EQ(moved.at(1), 6u);
  EXPECT_EQ(file.size(), 0);  // NOLINT(bugprone-use-after-move): the moved-from file is empty
}

TEST(TokenFileWriter, WritesLlmcBytesByTheBook) {
  const auto path = temp_path("written.bin");
  write_token_file(path, {1, 256, 65535});
  Bytes expected = header(20240520, 1, 3);
  for (uint32_t token : {1u, 256u, 65535u}) append_le(expected, token, 2);
  EXPECT_EQ(read_bytes(path), expected);

  write_token_file(path, {70000, 5}, TokenFormat::kLlmc, /*wide=*/true);
  expected = header(20240801, 7, 2);
  for (uint32_t token : {70000u, 5u}) append_le(expected, token, 4);
  EXPECT_EQ(read_bytes(path), expected);
  EXPECT_EQ(all_tokens(TokenFile::open(path)), (std::vector<int64_t>{70000, 5}));

  write_token_file(path, {258, 3}, TokenFormat::kU16);
  EXPECT_EQ(read_bytes(path), (Bytes{0x02, 0x01, 0x03, 0x00}));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(TokenFileWriter, OnlyAFinishedFileHasItsName) {
  const auto path = temp_path("streamed.bin");
  std::filesystem::remove(path);
  {
    TokenFileWriter writer(path);
    writer.write({1, 2, 3});
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(path + ".tmp"));
  }  // destroyed unfinished: the temporary goes away
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(path));

  TokenFileWriter writer(path);
  std::vector<uint32_t> many(300000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = static_cast<uint32_t>(i % 50257);
  writer.write(many);  // more than the 1 MiB write buffer
  writer.write({42});
  EXPECT_EQ(writer.count(), 300001);
  writer.finish();
  const auto file = TokenFile::open(path, TokenFormat::kLlmc);
  EXPECT_EQ(file.size(), 300001);
  EXPECT_EQ(file.at(299999), 299999u % 50257u);
  EXPECT_EQ(file.at(300000), 42u);
}

TEST(TokenFileWriter, RejectsIdsWiderThanTheFormat) {
  const auto path = temp_path("too_wide.bin");
  TokenFileWriter writer(path);
  try {
    writer.write({1, 2, 65536});
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ": token id 65536 at position 2 does not fit a uint16 token file (ids "
                                         "must be < 65536; write a wide llm.c shard)");
  }
  EXPECT_THROW(TokenFileWriter(path, TokenFormat::kU16, /*wide=*/true), UsageError);
}

}  // namespace
}  // namespace cocomix
