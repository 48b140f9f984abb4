// normalize_positions.
#include "cocomix/model/position_norm.h"

#include <torch/torch.h>

namespace cocomix {

PositionNorm normalize_positions(const torch::Tensor& h, double eps) {
  auto mu = h.mean(-1, /*keepdim=*/true);                             // [..., 1]
  auto centred = h - mu;                                              // [..., d]
  auto sigma = centred.std(-1, /*unbiased=*/true, /*keepdim=*/true);  // [..., 1]
  return {centred / (sigma + eps), std::move(mu), std::move(sigma)};
}

}  // namespace cocomix
