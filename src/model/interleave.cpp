// interleave and inserted_slots.
#include "cocomix/model/interleave.h"

#include <torch/torch.h>

namespace cocomix {

torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c) {
  const int64_t B = h.size(0), T = h.size(1), d = h.size(2);
  return torch::stack({h, c.to(h.scalar_type())}, 2).view({B, 2 * T, d});  // [B, T, 2, d] -> [B, 2T, d]
}

torch::Tensor inserted_slots(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1) / 2, d = x.size(2);
  return x.view({B, T, 2, d}).select(2, 1);  // [B, T, d]
}

}  // namespace cocomix
