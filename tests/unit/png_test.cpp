// util/png.h, util/bitmap_font.h, util/histogram_plot.h: a PNG written and
// decoded back here with zlib (signature, chunk CRCs, IHDR, the pixels), the
// font's text width and ink, and the histogram's bins and pixels.
#include "cocomix/util/png.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>

#include "cocomix/util/bitmap_font.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/histogram_plot.h"
#include "temp_dir.h"

namespace cocomix {
namespace {

uint32_t big_endian(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

/// Decodes a PNG of encode_png's kind (RGB, 8 bits, filter 0 rows) into an
/// RgbImage, checking every chunk's CRC on the way.
RgbImage decode_png(const std::string& png) {
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  uint32_t width = 0, height = 0;
  std::string compressed;
  for (size_t at = 8; at < png.size();) {
    const uint32_t length = big_endian(png, at);
    const std::string type = png.substr(at + 4, 4), data = png.substr(at + 8, length);
    const std::string typed = type + data;
    EXPECT_EQ(big_endian(png, at + 8 + length),
              crc32(0L, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size())))
        << type;
    if (type == "IHDR") {
      width = big_endian(data, 0), height = big_endian(data, 4);
      EXPECT_EQ(data.substr(8), std::string({8, 2, 0, 0, 0}));
    } else if (type == "IDAT") {
      compressed += data;
    }
    at += 12 + length;
  }
  std::string raw((width * 3 + 1) * height, '\0');
  uLongf raw_size = raw.size();
  EXPECT_EQ(uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                       reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()),
            Z_OK);
  EXPECT_EQ(raw_size, raw.size());
  RgbImage image(static_cast<int>(width), static_cast<int>(height));
  for (uint32_t y = 0; y < height; ++y) {
    const size_t row = y * (width * 3 + 1);
    EXPECT_EQ(raw[row], 0) << "filter of row " << y;
    for (uint32_t x = 0; x < width; ++x) {
      const auto* p = reinterpret_cast<const uint8_t*>(&raw[row + 1 + x * 3]);
      image.set(static_cast<int>(x), static_cast<int>(y), {p[0], p[1], p[2]});
    }
  }
  return image;
}

TEST(Png, WrittenImageDecodesToTheSamePixels) {
  RgbImage image(37, 23, {10, 20, 30});
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x)
      if ((x * 7 + y * 3) % 5 == 0) image.set(x, y, {static_cast<uint8_t>(x * 6), static_cast<uint8_t>(y * 11), 255});
  image.fill_rect(30, 15, 100, 100, {1, 2, 3});  // clipped at the edges
  testing::TempDir dir;
  const std::string path = dir.path() + "/image.png";
  write_png(path, image);
  const RgbImage decoded = decode_png(read_whole_file(path));
  ASSERT_EQ(decoded.width(), 37);
  ASSERT_EQ(decoded.height(), 23);
  EXPECT_EQ(decoded.bytes(), image.bytes());
  EXPECT_EQ(decoded.at(36, 22), (Rgb{1, 2, 3}));
}

TEST(BitmapFont, WidthAndInk) {
  EXPECT_EQ(text_width("", 2), 0);
  EXPECT_EQ(text_width("0.05", 1), 4 * 6 - 1);
  EXPECT_EQ(text_width("0.05", 3), (4 * 6 - 1) * 3);
  RgbImage image(20, 10);
  draw_text(image, 1, 1, "l", {0, 0, 0});  // lower case draws as upper: L is a column and a bottom row
  EXPECT_EQ(image.at(1, 1), (Rgb{0, 0, 0}));
  EXPECT_EQ(image.at(1, 7), (Rgb{0, 0, 0}));
  EXPECT_EQ(image.at(5, 7), (Rgb{0, 0, 0}));
  EXPECT_EQ(image.at(5, 1), (Rgb{255, 255, 255}));
}

TEST(HistogramPlot, BinsAndBars) {
  HistogramPlot plot;
  plot.values = {0.0, 0.1, 0.1, 0.5, 1.0};
  plot.markers = {2.0};
  plot.bins = 21;
  EXPECT_DOUBLE_EQ(histogram_x_max(plot), 2.1);  // the marker extends the range
  const auto counts = histogram_counts(plot);
  ASSERT_EQ(counts.size(), 21u);
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(counts[1], 2);  // 0.1 is the lower edge of the second bin
  EXPECT_EQ(counts[5], 1);
  EXPECT_EQ(counts[10], 1);
  plot.title = "T";
  const RgbImage image = render_histogram(plot);
  EXPECT_EQ(image.width(), plot.width);
  EXPECT_EQ(image.height(), plot.height);
  int bar_pixels = 0, marker_pixels = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) {
      bar_pixels += image.at(x, y) == Rgb{70, 110, 190};
      marker_pixels += image.at(x, y) == Rgb{210, 40, 40};
    }
  EXPECT_GT(bar_pixels, 100);
  EXPECT_GT(marker_pixels, 100);
}

}  // namespace
}  // namespace cocomix
