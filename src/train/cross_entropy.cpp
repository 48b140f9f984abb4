// fused_cross_entropy: a custom autograd function whose backward is one softmax
// kernel, one scatter of -1 at the targets and one scaling pass.
#include "cocomix/train/cross_entropy.h"

#include <torch/torch.h>

namespace cocomix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class FusedCrossEntropy : public torch::autograd::Function<FusedCrossEntropy> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets) {
    const auto log_normalizer = torch::logsumexp(logits, 1);                // [N]
    const auto picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1);  // [N]
    ctx->save_for_backward({logits, targets});
    return (log_normalizer - picked).mean();
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& logits = saved[0];   // [N, V]
    const auto& targets = saved[1];  // [N]
    const auto rows = logits.size(0);
    auto grad = torch::softmax(logits, 1);  // [N, V]
    grad.scatter_add_(1, targets.unsqueeze(1), torch::full({rows, 1}, -1.0, grad.options()));
    grad.mul_(grad_outputs[0] / static_cast<double>(rows));
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  return FusedCrossEntropy::apply(logits, targets);
}

}  // namespace cocomix
