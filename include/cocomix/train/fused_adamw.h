// AdamW whose step is PyTorch's fused multi-tensor kernel (aten::_fused_adamw_,
// what torch.optim.AdamW(fused=True) runs): one pass over each parameter instead
// of LibTorch's chain of elementwise ops, ~6x less optimizer time on CPU. The
// state is LibTorch's own AdamWParamState, so everything that reads or restores
// torch::optim::AdamW state (train/optimizer.h) works unchanged.
#pragma once

#include <torch/optim/adamw.h>

#include <vector>

namespace cocomix {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  /// One AdamW update of every parameter that has a gradient, per group: decoupled
  /// weight decay p *= 1 - lr·wd, moments, bias correction, p -= lr/bc1 · m / (sqrt(v/bc2) + eps).
  /// amsgrad is not supported (throws). Returns an undefined tensor (no closure).
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace cocomix
