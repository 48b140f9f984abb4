// A 5x7 pixel bitmap font (digits, upper-case letters, a little punctuation)
// for the labels of the plots the apps write. Lower-case letters are drawn as
// upper-case; a character the font lacks is drawn as '?'. No LibTorch here.
#pragma once

#include <string>

#include "cocomix/util/rgb_image.h"

namespace cocomix {

/// Glyph cell of the font: 5 x 7 pixels plus one column of spacing, times `scale`.
constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 7;

/// Width in pixels of `text` drawn at `scale` (6 · scale per character, less the trailing gap).
int text_width(const std::string& text, int scale = 1);

/// Draws `text` with its top-left corner at (x, y), each font pixel a scale x scale square.
void draw_text(RgbImage& image, int x, int y, const std::string& text, Rgb color, int scale = 1);

}  // namespace cocomix
