// Greedy and top-k / top-p sampling.
#include "cocomix/generate/sampling.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "cocomix/util/error.h"

namespace cocomix {

void SamplingOptions::validate() const {
  if (greedy) return;
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw UsageError("--temperature: must be a positive number, got " + std::to_string(temperature));
  if (top_k < 0) throw UsageError("--top-k: must be >= 0 (0 = every token), got " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) throw UsageError("--top-p: must be in (0, 1], got " + std::to_string(top_p));
}

torch::Tensor sampling_distribution(const torch::Tensor& logits, const SamplingOptions& options) {
  auto scaled = logits.to(torch::kFloat32) / options.temperature;  // [V]
  const double minus_inf = -std::numeric_limits<double>::infinity();
  const int64_t V = scaled.size(0);
  if (options.top_k > 0 && options.top_k < V) {
    const auto kth = std::get<0>(scaled.topk(options.top_k)).min();  // the k-th largest value
    scaled = scaled.masked_fill(scaled < kth, minus_inf);
  }
  if (options.top_p < 1) {
    // Sorted ascending, as TopPLogitsWarper: drop the tokens whose cumulative
    // probability stays within 1 - top_p; the most likely token always stays.
    const auto [sorted, order] = scaled.sort(/*dim=*/0, /*descending=*/false);
    const auto cumulative = sorted.softmax(0).cumsum(0);
    auto drop = cumulative <= (1 - options.top_p);
    drop.index_put_({V - 1}, false);
    scaled = scaled.index_fill(0, order.masked_select(drop), minus_inf);
  }
  return scaled.softmax(0);
}

int64_t next_token(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator) {
  if (options.greedy) return logits.argmax().item<int64_t>();
  const auto probabilities = sampling_distribution(logits, options);
  return torch::multinomial(probabilities, 1, /*replacement=*/false, generator).item<int64_t>();
}

}  // namespace cocomix
