// OnlineLabels and CachedLabels.
#include "cocomix/concept/label_source.h"

#include <torch/torch.h>

namespace cocomix {

torch::Tensor OnlineLabels::labels(const Batch& batch) { return labeler_->label(batch.inputs).labels; }

torch::Tensor CachedLabels::labels(const Batch& batch) {
  auto labels = cache_.labels(batch.starts);  // [B, T, K_attr] on the CPU
  if (batch.inputs.is_cuda())                 // pinned host memory lets the copy overlap compute
    labels = labels.pin_memory().to(batch.inputs.device(), /*non_blocking=*/true);
  return labels;
}

}  // namespace cocomix
