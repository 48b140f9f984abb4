// keep_top_k and top_k_indices (the deterministic tie rule: smaller index wins).
#include "cocomix/concept/top_k.h"

#include <torch/torch.h>

namespace cocomix {

torch::Tensor keep_top_k(const torch::Tensor& values, int64_t k) {
  const auto [top_values, top_indices] = values.topk(k, /*dim=*/-1);
  return torch::zeros_like(values).scatter(-1, top_indices, top_values);
}

torch::Tensor top_k_indices(const torch::Tensor& scores, int64_t k) {
  torch::NoGradGuard no_grad;
  const int64_t width = scores.size(1);
  // The k-th largest value decides the cut: every score above it is in; of the
  // scores equal to it, the lowest indices fill the remaining places.
  const auto kth = std::get<0>(scores.topk(k, 1)).narrow(1, k - 1, 1);  // [N, 1]
  const auto above = scores > kth;                                      // [N, C]
  const auto places_left = k - above.sum(1, /*keepdim=*/true);          // [N, 1]
  const auto tied = scores == kth;
  const auto chosen = above | (tied & (tied.cumsum(1) <= places_left));  // exactly k per row
  // Chosen indices in ascending order: the largest "C - index" among the chosen.
  const auto reversed_index = width - torch::arange(width, scores.options().dtype(torch::kInt64));  // [C]
  const auto ascending = std::get<1>(torch::where(chosen, reversed_index, 0).topk(k, 1));           // [N, k]
  // Then by score, descending; the stable sort keeps ascending index among ties.
  const auto order = std::get<1>(scores.gather(1, ascending).sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  return ascending.gather(1, order);
}

}  // namespace cocomix
