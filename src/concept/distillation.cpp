// distillation_loss: KL between temperature-softened teacher and student distributions.
#include "cocomix/concept/distillation.h"

#include <torch/torch.h>

namespace cocomix {

torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature) {
  const int64_t V = student_logits.size(-1);
  const auto student_log_probs =
      torch::log_softmax(student_logits.to(torch::kFloat32).reshape({-1, V}) / temperature, 1);
  const auto teacher_log_probs =
      torch::log_softmax(teacher_logits.to(torch::kFloat32).reshape({-1, V}) / temperature, 1);
  const auto kl = (teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)).sum(1);  // [N]
  return kl.mean() * (temperature * temperature);
}

}  // namespace cocomix
