// Per-position normalisation shared by the SAE and the concept head: each
// position's vector centred and scaled by its own standard deviation.
#pragma once

#include <torch/types.h>

namespace cocomix {

/// x = (h - mu) / (sigma + eps) with sigma the unbiased (N-1) std over the last dimension.
struct PositionNorm {
  torch::Tensor x;      ///< [..., d]
  torch::Tensor mu;     ///< [..., 1]
  torch::Tensor sigma;  ///< [..., 1]

  /// y * sigma + mu: a normalised-space vector back in h's space (with sigma,
  /// not sigma + eps, as the SAE's and the concept head's de-normalisation is written).
  torch::Tensor denormalize(const torch::Tensor& y) const { return y * sigma + mu; }
};
constexpr double kPositionNormEps = 1e-5;
PositionNorm normalize_positions(const torch::Tensor& h, double eps = kPositionNormEps);

}  // namespace cocomix
