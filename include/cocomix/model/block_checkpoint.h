// Activation checkpointing of one transformer block: its forward keeps only the
// block's input, and the backward pass runs the block again to get what it
// needs (PyTorch's reentrant torch.utils.checkpoint). Losses, gradients and the
// random stream are bitwise those of the plain block: the recomputation replays
// the forward's dropout masks from the generator state it saved, under the
// forward's autocast setting, and leaves the generator where it found it.
#pragma once

#include <torch/types.h>

namespace cocomix {

class BlockImpl;

/// block.forward(x) ([B, S, d] -> [B, S, d]) without its intermediate activations kept for backward. The
/// block must outlive the backward pass of the result (it runs again there).
torch::Tensor run_block_checkpointed(BlockImpl& block, const torch::Tensor& x);

}  // namespace cocomix
