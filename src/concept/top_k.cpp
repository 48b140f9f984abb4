// keep_top_k, top_k_indices (the deterministic tie rule: smaller index wins) and
// its sparse-row form.
#include "cocomix/concept/top_k.h"

#include <torch/torch.h>

#include <limits>

namespace cocomix {

torch::Tensor keep_top_k(const torch::Tensor& values, int64_t k, torch::Tensor* kept) {
  const auto [top_values, top_indices] = values.topk(k, /*dim=*/-1);
  if (kept != nullptr) *kept = top_indices;
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

torch::Tensor top_k_indices_sparse(const torch::Tensor& indices, const torch::Tensor& values, int64_t width,
                                   int64_t k) {
  torch::NoGradGuard no_grad;
  const int64_t N = indices.size(0), m = indices.size(1);
  // The dense row's winners: its positive entries (all listed), then zeros by
  // ascending index, never a negative one while zeros are left. At most m
  // columns are not zero, so the first k zeros lie in [0, k + m).
  const int64_t head_width = k + m;
  if (head_width >= width)  // nothing to save: the dense rows themselves
    return top_k_indices(torch::zeros({N, width}, values.options()).scatter(1, indices, values), k);
  // Candidates in ascending column order: [0, head_width) with the listed values
  // scattered in, then the listed columns >= head_width (sorted); listed columns
  // below head_width are already in the head and get -inf in the tail, which
  // never wins against the head's head_width >= k finite entries.
  const auto [sorted_indices, order] = indices.sort(1);  // [N, m]
  const auto sorted_values = values.gather(1, order);
  const auto in_head = sorted_indices < head_width;
  // One spare column takes the tail's scatters and is dropped.
  const auto head = torch::zeros({N, head_width + 1}, values.options())
                        .scatter(1, torch::where(in_head, sorted_indices, head_width), sorted_values)
                        .narrow(1, 0, head_width);
  const auto tail = sorted_values.masked_fill(in_head, -std::numeric_limits<double>::infinity());
  const auto columns = torch::cat({torch::arange(head_width, indices.options()).expand({N, head_width}), sorted_indices}, 1);
  return columns.gather(1, top_k_indices(torch::cat({head, tail}, 1), k));
}

}  // namespace cocomix
