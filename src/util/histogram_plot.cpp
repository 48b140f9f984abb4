// render_histogram: the layout (margins for the tick numbers and labels), "nice"
// tick steps (1, 2 or 5 times a power of ten), the bars, the markers.
#include "cocomix/util/histogram_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cocomix/util/bitmap_font.h"

namespace cocomix {
namespace {

constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kGrey{225, 225, 225};
constexpr Rgb kBar{70, 110, 190};
constexpr Rgb kMarker{210, 40, 40};
constexpr int kScale = 2;                                        // font pixels per image pixel
constexpr int kLine = (kGlyphHeight + 3) * kScale;               // height of a text line
constexpr int kLeft = 90, kRight = 30, kTop = 72, kBottom = 70;  // margins around the plot area

/// A tick step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over [0, range].
double nice_step(double range, int ticks) {
  const double rough = range / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  for (const double factor : {1.0, 2.0, 5.0})
    if (factor * power >= rough) return factor * power;
  return 10 * power;
}

/// The shortest of %g's renderings that still reads as `value` at this step.
std::string tick_label(double value, double step) {
  char text[32];
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::abs(value) < 1e-4 * step) value = 0;
  if (step >= 1e-3 && step < 1e6)
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
  else
    std::snprintf(text, sizeof text, "%.1e", value);
  return text;
}

std::string marker_label(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

double histogram_x_max(const HistogramPlot& plot) {
  double largest = 0;
  for (const double v : plot.values) largest = std::max(largest, v);
  for (const double m : plot.markers) largest = std::max(largest, m);
  return largest > 0 ? 1.05 * largest : 1.0;
}

std::vector<int64_t> histogram_counts(const HistogramPlot& plot) {
  const double x_max = histogram_x_max(plot);
  std::vector<int64_t> counts(static_cast<size_t>(std::max(plot.bins, 1)), 0);
  for (const double v : plot.values) {
    const auto bin = static_cast<int64_t>(std::floor(v / x_max * static_cast<double>(counts.size())));
    ++counts[static_cast<size_t>(std::clamp<int64_t>(bin, 0, static_cast<int64_t>(counts.size()) - 1))];
  }
  return counts;
}

RgbImage render_histogram(const HistogramPlot& plot) {
  RgbImage image(plot.width, plot.height);
  const int x0 = kLeft, x1 = plot.width - kRight, y0 = plot.height - kBottom, y1 = kTop;  // y grows downwards
  const double x_max = histogram_x_max(plot);
  const auto counts = histogram_counts(plot);
  const int64_t most = std::max<int64_t>(1, *std::max_element(counts.begin(), counts.end()));
  const double y_step = std::max(1.0, nice_step(static_cast<double>(most), 5));
  const double y_max = std::ceil(static_cast<double>(most) / y_step) * y_step;
  const auto px = [&](double x) { return x0 + static_cast<int>(std::lround(x / x_max * (x1 - x0))); };
  const auto py = [&](double y) { return y0 - static_cast<int>(std::lround(y / y_max * (y0 - y1))); };

  // Horizontal grid lines and y ticks.
  for (double y = 0; y <= y_max + 1e-9; y += y_step) {
    image.fill_rect(x0, py(y), x1, py(y) + 1, kGrey);
    const std::string label = tick_label(y, y_step);
    draw_text(image, x0 - 8 - text_width(label, kScale), py(y) - kGlyphHeight * kScale / 2, label, kBlack, kScale);
  }
  // Bars.
  const double bin_width = x_max / static_cast<double>(counts.size());
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] > 0)
      image.fill_rect(px(static_cast<double>(i) * bin_width) + 1, py(static_cast<double>(counts[i])),
                      px(static_cast<double>(i + 1) * bin_width), y0, kBar);
  // Axes and x ticks.
  image.fill_rect(x0, y0, x1 + 1, y0 + 2, kBlack);
  image.fill_rect(x0 - 2, y1, x0, y0 + 2, kBlack);
  const double x_step = nice_step(x_max, 6);
  for (double x = 0; x <= x_max + 1e-12; x += x_step) {
    image.fill_rect(px(x), y0 + 2, px(x) + 2, y0 + 8, kBlack);
    const std::string label = tick_label(x, x_step);
    draw_text(image, px(x) - text_width(label, kScale) / 2, y0 + 12, label, kBlack, kScale);
  }
  // Markers, then their labels on white (stacked, so that close markers stay readable).
  for (const double marker : plot.markers)
    for (int y = y1; y < y0; y += 8) image.fill_rect(px(marker), y, px(marker) + 2, std::min(y + 5, y0), kMarker);
  for (size_t i = 0; i < plot.markers.size(); ++i) {
    const std::string label = marker_label(plot.markers[i]);
    const int x = px(plot.markers[i]) + 5, y = y1 + 4 + static_cast<int>(i) * kLine;
    image.fill_rect(x - 2, y - 2, x + text_width(label, kScale) + 2, y + kGlyphHeight * kScale + 2, kWhite);
    draw_text(image, x, y, label, kMarker, kScale);
  }
  // Title and axis labels.
  draw_text(image, (plot.width - text_width(plot.title, kScale)) / 2, 14, plot.title, kBlack, kScale);
  draw_text(image, (x0 + x1 - text_width(plot.x_label, kScale)) / 2, y0 + 12 + kLine + 6, plot.x_label, kBlack, kScale);
  draw_text(image, 8, y1 - kLine - 2, plot.y_label, kBlack, kScale);
  return image;
}

}  // namespace cocomix
