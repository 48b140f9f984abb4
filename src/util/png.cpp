// encode_png: signature, IHDR, one IDAT, IEND; chunk CRCs and the compression from zlib.
#include "cocomix/util/png.h"

#include <zlib.h>

#include <cstdint>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

void append_big_endian(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

/// length, type, data, CRC-32 of type + data.
void append_chunk(std::string& out, const char (&type)[5], const std::string& data) {
  append_big_endian(out, static_cast<uint32_t>(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out += typed;
  append_big_endian(out, static_cast<uint32_t>(
                             crc32(0L, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()))));
}

}  // namespace

std::string encode_png(const RgbImage& image) {
  const size_t row_bytes = static_cast<size_t>(image.width()) * 3;
  std::string scanlines;
  scanlines.reserve((row_bytes + 1) * image.height());
  for (int y = 0; y < image.height(); ++y) {
    scanlines.push_back('\0');  // filter type 0: the row as is
    scanlines.append(reinterpret_cast<const char*>(image.bytes().data()) + y * row_bytes, row_bytes);
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(scanlines.size()));
  std::string compressed(compressed_size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                reinterpret_cast<const Bytef*>(scanlines.data()), static_cast<uLong>(scanlines.size()),
                Z_BEST_COMPRESSION) != Z_OK)
    throw RuntimeError("encode_png: zlib could not compress the image");
  compressed.resize(compressed_size);

  std::string header;
  append_big_endian(header, static_cast<uint32_t>(image.width()));
  append_big_endian(header, static_cast<uint32_t>(image.height()));
  header += std::string{8, 2, 0, 0, 0};  // bit depth 8, colour type 2 (RGB), deflate, filter set 0, no interlace

  std::string png = "\x89PNG\r\n\x1a\n";
  append_chunk(png, "IHDR", header);
  append_chunk(png, "IDAT", compressed);
  append_chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const RgbImage& image) { write_file_atomically(path, encode_png(image)); }

}  // namespace cocomix
