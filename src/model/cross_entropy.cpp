// fused_cross_entropy and linear_cross_entropy: custom autograd functions whose
// gradient is softmax(logits) - onehot(target), made in place from log_softmax;
// next_token_loss on a GPT's final hidden states.
#include "cocomix/model/cross_entropy.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <algorithm>

#include "cocomix/model/gpt.h"

namespace cocomix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Sum over rows of -log_probs[i, targets[i]]: the summed cross-entropy.
torch::Tensor summed_negative_log_likelihood(const torch::Tensor& log_probs, const torch::Tensor& targets) {
  return -log_probs.gather(1, targets.unsqueeze(1)).sum();
}

/// Overwrites log-probabilities [n, V] with softmax - onehot(targets): the
/// gradient of the summed cross-entropy with respect to the logits.
void softmax_minus_onehot_(torch::Tensor& log_probs, const torch::Tensor& targets) {
  log_probs.exp_();
  log_probs.scatter_add_(1, targets.unsqueeze(1), torch::full({log_probs.size(0), 1}, -1.0, log_probs.options()));
}

class FusedCrossEntropy : public torch::autograd::Function<FusedCrossEntropy> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets) {
    const auto log_probs = torch::log_softmax(logits, 1);  // [N, V]; one fused pass per row
    ctx->save_for_backward({log_probs, targets});
    return summed_negative_log_likelihood(log_probs, targets) / static_cast<double>(logits.size(0));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    auto grad = saved[0].clone();  // [N, V]
    softmax_minus_onehot_(grad, saved[1]);
    grad.mul_(grad_outputs[0] / static_cast<double>(grad.size(0)));
    return {grad, torch::Tensor()};
  }
};

class LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& hidden, const torch::Tensor& weight,
                               const torch::Tensor& targets, int64_t chunk_logits) {
    // Autocast does not reach inside: the matmul dtype is decided here, once.
    const auto device_type = hidden.device().type();
    const auto matmul_dtype = at::autocast::is_autocast_enabled(device_type)
                                  ? at::autocast::get_autocast_dtype(device_type)
                                  : weight.scalar_type();
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);

    // Softmax, loss and gradient sums in fp32 (fp64 stays fp64, for reference tests).
    const auto softmax_dtype = at::promote_types(matmul_dtype, torch::kFloat32);
    const auto h = hidden.to(matmul_dtype);  // [N, d]
    const auto w = weight.to(matmul_dtype);  // [V, d]
    const int64_t rows = h.size(0);
    const int64_t chunk_rows = std::max<int64_t>(1, chunk_logits / std::max<int64_t>(1, w.size(0)));
    const double scale = 1.0 / static_cast<double>(rows);  // the mean's 1/N, folded into the gradient matmuls
    // Only the gradients autograd will ask for (a frozen teacher's head wants none for its weight).
    const bool want_hidden = hidden.requires_grad(), want_weight = weight.requires_grad();
    auto grad_hidden = want_hidden ? torch::empty_like(hidden, torch::MemoryFormat::Contiguous) : torch::Tensor();
    auto grad_weight = want_weight ? torch::zeros_like(weight, torch::MemoryFormat::Contiguous) : torch::Tensor();
    auto loss_sum = torch::zeros({}, hidden.options().dtype(softmax_dtype));
    for (int64_t begin = 0; begin < rows; begin += chunk_rows) {
      const int64_t end = std::min(rows, begin + chunk_rows);
      const auto h_chunk = h.slice(0, begin, end);                                          // [n, d]
      const auto targets_chunk = targets.slice(0, begin, end);                              // [n]
      auto log_probs = torch::log_softmax(torch::mm(h_chunk, w.t()).to(softmax_dtype), 1);  // [n, V]
      loss_sum += summed_negative_log_likelihood(log_probs, targets_chunk);
      softmax_minus_onehot_(log_probs, targets_chunk);
      const auto grad_logits = log_probs.to(matmul_dtype);  // [n, V], unscaled
      if (want_hidden) grad_hidden.slice(0, begin, end).copy_(torch::mm(grad_logits, w).mul_(scale));
      if (want_weight && grad_weight.scalar_type() == matmul_dtype)
        grad_weight.addmm_(grad_logits.t(), h_chunk, /*beta=*/1, /*alpha=*/scale);
      else if (want_weight)  // bf16 products summed into the fp32 gradient, as autocast's cast-back would
        grad_weight.add_(torch::mm(grad_logits.t(), h_chunk), scale);
    }
    ctx->save_for_backward({grad_hidden, grad_weight});
    return loss_sum * scale;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const auto& upstream = grad_outputs[0];
    // The usual case, backward() of this loss itself, needs no extra pass.
    const bool unit = upstream.device().is_cpu() && upstream.item<double>() == 1.0;
    if (!unit)
      for (auto& grad : saved)
        if (grad.defined()) grad = grad * upstream;
    return {saved[0], saved[1], torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fused_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  return FusedCrossEntropy::apply(logits, targets);
}

torch::Tensor linear_cross_entropy(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& targets, int64_t chunk_logits) {
  return LinearCrossEntropy::apply(hidden, weight, targets, chunk_logits);
}

torch::Tensor next_token_loss(GPTImpl& model, const torch::Tensor& h, const torch::Tensor& targets) {
  const auto normed = model.final_norm(h);  // [B, S, d]
  return linear_cross_entropy(normed.reshape({-1, normed.size(-1)}), model.unembedding(), targets.reshape({-1}));
}

}  // namespace cocomix
