// GELU with the tanh approximation (Hugging Face's "gelu_new", GPT-2's MLP
// activation), with a fused CPU kernel: ATen's CPU gelu(approximate="tanh") runs
// ~5x slower than an exp-based kernel, and the MLP's activation was ~15% of a
// small model's training step. Other devices use ATen's kernel.
#pragma once

#include <torch/types.h>

namespace cocomix {

/// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), differentiable.
/// CPU float32 and bfloat16 tensors take the fused kernel (computed in fp32,
/// written in x's dtype); anything else calls torch::gelu(x, "tanh").
torch::Tensor gelu_tanh(const torch::Tensor& x);

}  // namespace cocomix
