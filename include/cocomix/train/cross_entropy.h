// Mean cross-entropy with a fused backward. PyTorch's cross_entropy runs
// log_softmax (writes a [N, V] copy), nll_loss, then in backward zero-fills a
// [N, V] gradient, scatters into it and runs log_softmax_backward: four passes
// over a 400 MB tensor at GPT-2's vocabulary. Here the forward keeps only the
// per-row logsumexp and the backward writes softmax(logits) - onehot(target)
// once, scaled. Same value and gradient (to rounding), about a third of the
// step time less on CPU (docs/benchmarks.md).
#pragma once

#include <torch/types.h>

namespace cocomix {

/// mean_i (logsumexp(logits[i]) - logits[i, targets[i]]). logits [N, V] floating
/// (computed in its own dtype; pass fp32), targets [N] int64 in [0, V).
torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace cocomix
