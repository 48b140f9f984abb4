// distillation_loss: KL between temperature-softened teacher and student
// distributions, as a custom autograd function over row chunks.
#include "cocomix/objective/distillation.h"

#include <torch/torch.h>

#include <algorithm>

namespace cocomix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class Distillation : public torch::autograd::Function<Distillation> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& student_logits,
                               const torch::Tensor& teacher_logits, double temperature, int64_t chunk_elements) {
    const int64_t V = student_logits.size(-1);
    const auto student = student_logits.reshape({-1, V});  // [N, V]
    const auto teacher = teacher_logits.reshape({-1, V});  // [N, V]
    const int64_t rows = student.size(0);
    const auto dtype = at::promote_types(student.scalar_type(), torch::kFloat32);
    const int64_t chunk_rows = std::max<int64_t>(1, chunk_elements / V);
    const bool want_grad = student_logits.requires_grad();
    // In the student's own shape, so backward returns it as it is; filled through its [N, V] view.
    auto grad = want_grad ? torch::empty(student_logits.sizes(), student.options()) : torch::Tensor();
    const auto grad_rows = want_grad ? grad.view({-1, V}) : torch::Tensor();
    auto kl_sum = torch::zeros({}, student.options().dtype(dtype));
    for (int64_t begin = 0; begin < rows; begin += chunk_rows) {
      const int64_t end = std::min(rows, begin + chunk_rows);
      auto log_p_student = torch::log_softmax(student.slice(0, begin, end).to(dtype) / temperature, 1);  // [n, V]
      const auto log_p_teacher = torch::log_softmax(teacher.slice(0, begin, end).to(dtype) / temperature, 1);
      const auto p_teacher = log_p_teacher.exp();
      kl_sum += (p_teacher * (log_p_teacher - log_p_student)).sum();
      // d(τ² KL / N) / d student = τ (p_student − p_teacher) / N.
      if (want_grad)
        grad_rows.slice(0, begin, end).copy_(log_p_student.exp_().sub_(p_teacher).mul_(temperature / rows));
    }
    ctx->save_for_backward({grad});
    return kl_sum * (temperature * temperature / static_cast<double>(rows));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto grad = ctx->get_saved_variables()[0];
    if (grad.defined()) grad = grad * grad_outputs[0];
    return {grad, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature, int64_t chunk_elements) {
  return Distillation::apply(student_logits, teacher_logits.detach(), temperature, chunk_elements);
}

}  // namespace cocomix
