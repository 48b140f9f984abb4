// A histogram drawn into an RgbImage: bars over equal-width bins, x and y axes
// with numbered ticks and labels, a title, and labelled vertical marker lines
// (thresholds). Small and dependency-free so an app can write its plot as a PNG
// without Python. No LibTorch here.
#pragma once

#include <string>
#include <vector>

#include "cocomix/util/rgb_image.h"

namespace cocomix {

struct HistogramPlot {
  std::vector<double> values;   ///< what is counted
  std::vector<double> markers;  ///< x positions of vertical lines, each labelled with its value
  int bins = 40;                ///< equal-width bins over [0, x_max]
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 800;   ///< pixels
  int height = 520;  ///< pixels
};

/// The x range's upper end: 5% above the largest value or marker (1 when all are 0).
double histogram_x_max(const HistogramPlot& plot);

/// Counts of `plot.values` in `plot.bins` equal bins over [0, histogram_x_max];
/// a value on a bin edge counts in the bin above it, negative values in the first bin.
std::vector<int64_t> histogram_counts(const HistogramPlot& plot);

/// Renders the histogram: axes in black, bars in blue, markers in red.
RgbImage render_histogram(const HistogramPlot& plot);

}  // namespace cocomix
