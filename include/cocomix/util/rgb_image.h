// An 8-bit RGB raster, row-major from the top-left pixel: what the plots draw
// into and util/png.h encodes. Drawing outside the image is clipped, so a plot
// never has to check its own bounds. No LibTorch here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace cocomix {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& other) const { return r == other.r && g == other.g && b == other.b; }
};

class RgbImage {
 public:
  /// A width x height image filled with `background`.
  RgbImage(int width, int height, Rgb background = {255, 255, 255})
      : width_(width), height_(height), bytes_(static_cast<size_t>(width) * height * 3) {
    fill_rect(0, 0, width, height, background);
  }

  int width() const { return width_; }
  int height() const { return height_; }
  /// Three bytes (R, G, B) per pixel, rows top to bottom.
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  /// Sets pixel (x, y); ignored outside the image.
  void set(int x, int y, Rgb color) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    uint8_t* p = &bytes_[(static_cast<size_t>(y) * width_ + x) * 3];
    p[0] = color.r, p[1] = color.g, p[2] = color.b;
  }

  /// Pixel (x, y), which must lie inside the image.
  Rgb at(int x, int y) const {
    const uint8_t* p = &bytes_[(static_cast<size_t>(y) * width_ + x) * 3];
    return {p[0], p[1], p[2]};
  }

  /// Fills the pixels x0 <= x < x1, y0 <= y < y1 (clipped to the image).
  void fill_rect(int x0, int y0, int x1, int y1, Rgb color) {
    for (int y = std::max(y0, 0); y < std::min(y1, height_); ++y)
      for (int x = std::max(x0, 0); x < std::min(x1, width_); ++x) set(x, y, color);
  }

 private:
  int width_;
  int height_;
  std::vector<uint8_t> bytes_;
};

}  // namespace cocomix
