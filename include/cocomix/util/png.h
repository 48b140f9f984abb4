// PNG encoding of an RgbImage (8-bit truecolor, no interlace, filter "none" on
// every row, the pixel data zlib-compressed), so apps can write plots without
// Python. No LibTorch here.
#pragma once

#include <string>

#include "cocomix/util/rgb_image.h"

namespace cocomix {

/// The bytes of a PNG file holding `image`.
std::string encode_png(const RgbImage& image);

/// Writes encode_png(image) to `path` (write_file_atomically). Throws RuntimeError naming the file.
void write_png(const std::string& path, const RgbImage& image);

}  // namespace cocomix
