// The attribution scores: decoder directions dotted with the teacher's gradient, times the activations.
#include "cocomix/concept/attribution.h"

#include <torch/torch.h>

#include <algorithm>

namespace cocomix {

torch::Tensor decoder_dots(const torch::Tensor& g, const torch::Tensor& columns, const torch::Tensor& kept) {
  const int64_t N = g.size(0), m = kept.size(1), d = g.size(1);
  const auto g32 = g.to(columns.dtype());
  auto out = torch::empty({N, m}, g32.options());
  const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, m * d));  // <= 4M gathered
  for (int64_t begin = 0; begin < N; begin += rows) {
    const int64_t n = std::min(rows, N - begin);
    const auto gathered = columns.index_select(0, kept.narrow(0, begin, n).reshape({-1})).view({n, m, d});
    out.narrow(0, begin, n).copy_(torch::bmm(gathered, g32.narrow(0, begin, n).unsqueeze(2)).squeeze(2));
  }
  return out;
}

torch::Tensor kept_attribution_scores(const torch::Tensor& g, const torch::Tensor& columns, const torch::Tensor& kept,
                                      const torch::Tensor& z_kept) {
  return (decoder_dots(g, columns, kept) * z_kept).to(torch::kFloat32);  // [N, m]
}

torch::Tensor dense_attribution_scores(const torch::Tensor& g, const torch::Tensor& decoder,
                                       const torch::Tensor& z_pre) {
  return (torch::matmul(g.to(decoder.dtype()), decoder) * z_pre).to(torch::kFloat32);  // [..., C]
}

}  // namespace cocomix
