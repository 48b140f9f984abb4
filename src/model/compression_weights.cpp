// summarize_compression_weights: row norms in fp64, order statistics, rankings.
#include "cocomix/model/compression_weights.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "cocomix/util/error.h"

namespace cocomix {

CompressionWeightSummary summarize_compression_weights(const torch::Tensor& compressor_weight,
                                                       const std::vector<double>& thresholds, int64_t show) {
  if (compressor_weight.dim() != 2 || compressor_weight.size(0) < 1)
    throw RuntimeError("summarize_compression_weights: W_comp must be [C, d] with C >= 1");
  const auto norms = torch::linalg_vector_norm(compressor_weight.detach().to(torch::kCPU, torch::kFloat64), 2, {1},
                                               /*keepdim=*/false, /*dtype=*/std::nullopt)
                         .contiguous();
  CompressionWeightSummary summary;
  summary.norms.assign(norms.data_ptr<double>(), norms.data_ptr<double>() + norms.numel());
  const auto& n = summary.norms;
  const size_t count = n.size();

  std::vector<double> sorted = n;
  std::sort(sorted.begin(), sorted.end());
  summary.min = sorted.front();
  summary.max = sorted.back();
  summary.median = count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
  summary.mean = std::accumulate(n.begin(), n.end(), 0.0) / static_cast<double>(count);

  summary.thresholds = thresholds;
  for (const double threshold : thresholds)
    summary.below.push_back(std::count_if(n.begin(), n.end(), [&](double v) { return v < threshold; }));

  std::vector<int64_t> ids(count);
  std::iota(ids.begin(), ids.end(), 0);
  const auto shown = static_cast<size_t>(std::clamp<int64_t>(show, 0, static_cast<int64_t>(count)));
  const auto take = [&](auto before) {
    std::vector<int64_t> order = ids;
    std::stable_sort(order.begin(), order.end(), before);  // stable: ties keep the smaller id first
    std::vector<ConceptNorm> out;
    for (size_t i = 0; i < shown; ++i) out.push_back({order[i], n[static_cast<size_t>(order[i])]});
    return out;
  };
  summary.strongest = take([&](int64_t a, int64_t b) { return n[a] > n[b]; });
  summary.weakest = take([&](int64_t a, int64_t b) { return n[a] < n[b]; });
  return summary;
}

}  // namespace cocomix
