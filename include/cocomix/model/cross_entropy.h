// Mean cross-entropy with fused gradients. PyTorch's cross_entropy runs
// log_softmax (writes a [N, V] copy), nll_loss, then in backward zero-fills a
// [N, V] gradient, scatters into it and runs log_softmax_backward: four passes
// over a 400 MB tensor at GPT-2's vocabulary.
// - fused_cross_entropy(logits): the forward keeps log_softmax(logits), the
//   backward turns a copy into softmax - onehot(target) in place, scaled.
// - linear_cross_entropy(hidden, weight): the LM head and the loss in one. It
//   walks the rows in chunks and computes each chunk's logits, loss and both
//   gradients (hidden and weight) in the forward pass, so the [N, V] logits are
//   never held whole and never saved for backward (Liger-Kernel's fused linear
//   cross-entropy does the same on GPUs). docs/benchmarks.md has the speed-ups.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace cocomix {

class GPTImpl;

/// mean_i (logsumexp(logits[i]) - logits[i, targets[i]]). logits [N, V] floating
/// (computed in its own dtype; pass fp32), targets [N] int64 in [0, V).
torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

/// Logits above which linear_cross_entropy splits the rows into chunks
/// (32M logits = 128 MiB in fp32: ~650 rows at GPT-2's vocabulary).
constexpr int64_t kLinearCrossEntropyChunkLogits = int64_t{1} << 25;

/// fused_cross_entropy(hidden @ weight^T, targets) without materialising the
/// logits: hidden [N, d], weight [V, d] (the tied LM head), targets [N] int64.
/// Gradients flow to hidden and weight. Under bf16 autocast the two matmuls run
/// in bf16 like torch::linear would, and the softmax, the loss and the gradient
/// sums in fp32. chunk_logits bounds the logits held at once (rows x V).
torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets,
                                   int64_t chunk_logits = kLinearCrossEntropyChunkLogits);

/// Mean next-token cross-entropy over all B·S positions of the final hidden
/// states h [B, S, d] (before ln_f): the model's ln_f, its tied LM head and the
/// loss in one linear_cross_entropy, so the [B, S, V] logits are never held
/// whole. The softmax and the loss are fp32 even under bf16 autocast. targets [B, S] int64.
torch::Tensor next_token_loss(GPTImpl& model, const torch::Tensor& h, const torch::Tensor& targets);

}  // namespace cocomix
