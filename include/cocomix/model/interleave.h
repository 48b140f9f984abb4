// The h/c interleave of CoCoMix (method spec §3): after block L_s-1 the student's
// sequence becomes h0, c0, h1, c1, ...; after the last block the c slots (odd
// positions) are the ones that predict the next token.
#pragma once

#include <torch/types.h>

namespace cocomix {

/// h, c [B, T, d] -> [B, 2T, d] = h0, c0, h1, c1, ... (c cast to h's dtype).
torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c);

/// x [B, 2T, d] -> [B, T, d]: the slot after each token (odd positions 2t+1), a view.
torch::Tensor inserted_slots(const torch::Tensor& x);

}  // namespace cocomix
