// util/input_file.h: the same text read plain, gzip'ed (also as two concatenated
// members), zstd'ed and bzip2'ed (also two streams), whole and by lines; truncated and corrupt files fail
// with one line naming the file.
#include "cocomix/util/input_file.h"

#include <bzlib.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <string>
#include <vector>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

std::string gzip(const std::string& data) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&stream, data.size()) + 64, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

std::string bzip2(const std::string& data) {
  std::string out(data.size() + data.size() / 100 + 1024, '\0');
  auto size = static_cast<unsigned>(out.size());
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(data.data()),
                                     static_cast<unsigned>(data.size()), 9, 0, 0),
            BZ_OK);
  out.resize(size);
  return out;
}

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t size = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(size));
  out.resize(size);
  return out;
}

/// Three megabytes of numbered lines, the last without a newline: longer than
/// the 1 MiB read buffer, so lines straddle refills.
std::string sample_text() {
  std::string text;
  for (int i = 0; text.size() < 3000000; ++i) text += "line " + std::to_string(i) + " caf\xC3\xA9\n";
  return text + "last";
}

class InputFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.path() + "/" + name;
    write_file_atomically(path, bytes);
    return path;
  }
  static std::string error_of(const std::string& path) {
    try {
      InputFile(path).read_all();
    } catch (const RuntimeError& e) {
      return e.what();
    }
    return "no error";
  }
  testing::TempDir dir_{"cocomix_input_file"};
};

TEST_F(InputFileTest, PlainGzipAndZstdReadTheSame) {
  const std::string text = sample_text();
  for (const std::string& path : {write("a.txt", text), write("a.txt.gz", gzip(text)), write("a.txt.zst", zstd(text)),
                                  write("twice.gz", gzip(text.substr(0, 1000)) + gzip(text.substr(1000))),
                                  write("a.txt.bz2", bzip2(text)),
                                  write("twice.bz2", bzip2(text.substr(0, 1000)) + bzip2(text.substr(1000)))}) {
    EXPECT_EQ(InputFile(path).read_all(), text) << path;
    InputFile lines(path);
    std::string line, joined;
    int count = 0;
    while (lines.read_line(line)) {
      joined += (count++ ? "\n" : "") + line;
    }
    EXPECT_EQ(joined, text) << path;
    EXPECT_GT(lines.disk_bytes_read(), 0) << path;
  }
  EXPECT_EQ(compression_of("x.jsonl.zst"), Compression::kZstd);
  EXPECT_EQ(compression_of("x.txt.bz2"), Compression::kBzip2);
  EXPECT_EQ(without_compression_suffix("x.txt.bz2"), "x.txt");
  EXPECT_EQ(without_compression_suffix("x.jsonl.gz"), "x.jsonl");
  EXPECT_EQ(without_compression_suffix("x.txt"), "x.txt");
}

TEST_F(InputFileTest, EmptyFiles) {
  EXPECT_EQ(InputFile(write("empty.txt", "")).read_all(), "");
  EXPECT_EQ(InputFile(write("empty.gz", gzip(""))).read_all(), "");
  std::string line;
  EXPECT_FALSE(InputFile(write("empty2.txt", "")).read_line(line));
}

TEST_F(InputFileTest, TruncatedAndCorruptDataAreErrors) {
  const std::string text = sample_text();
  const std::string gz = gzip(text), zst = zstd(text);
  const std::string cut_gz = write("cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_EQ(error_of(cut_gz), cut_gz + ": truncated gzip data (the file ends inside a member)");
  const std::string cut_zst = write("cut.zst", zst.substr(0, zst.size() / 2));
  EXPECT_EQ(error_of(cut_zst), cut_zst + ": truncated zstd data (the file ends inside a frame)");
  const std::string bz = bzip2(text);
  const std::string cut_bz = write("cut.bz2", bz.substr(0, bz.size() / 2));
  EXPECT_EQ(error_of(cut_bz), cut_bz + ": truncated bzip2 data (the file ends inside a stream)");
  const std::string bad_bz = write("bad.bz2", "this is not bzip2 at all");
  EXPECT_EQ(error_of(bad_bz).rfind(bad_bz + ": corrupt bzip2 data", 0), 0u) << error_of(bad_bz);
  const std::string bad_gz = write("bad.gz", "this is not gzip at all");
  EXPECT_EQ(error_of(bad_gz).rfind(bad_gz + ": corrupt gzip data: ", 0), 0u) << error_of(bad_gz);
  const std::string bad_zst = write("bad.zst", "this is not zstd at all");
  EXPECT_EQ(error_of(bad_zst).rfind(bad_zst + ": corrupt zstd data: ", 0), 0u) << error_of(bad_zst);
  const std::string missing = dir_.path() + "/missing.txt";
  EXPECT_EQ(error_of(missing), missing + ": cannot open for reading: No such file or directory");
}

}  // namespace
}  // namespace cocomix
