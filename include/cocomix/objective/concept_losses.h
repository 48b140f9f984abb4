// The loss terms beside next-token prediction that read the student's concept
// head or hidden predictor (method spec §3-4).
#pragma once

#include <torch/types.h>

#include "cocomix/config/config.h"

namespace cocomix {

/// L_concept = (1/K_attr) Σ_j CE(logits, labels[..., j]), mean over B·T, in fp32.
/// logits [B, T, C], labels [B, T, K_attr] int64. No shift: position t's logits
/// predict position t's labels.
torch::Tensor concept_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// D(predicted, target) of concept.hidden_loss in fp32; both [B, T, d_t], target without gradient.
torch::Tensor hidden_prediction_loss(const torch::Tensor& predicted, const torch::Tensor& target, HiddenLoss loss);

}  // namespace cocomix
