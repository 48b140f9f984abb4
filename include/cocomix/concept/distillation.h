// The knowledge-distillation loss of the KD baseline (method spec §4).
#pragma once

#include <torch/types.h>

namespace cocomix {

/// τ² · KL(softmax(teacher/τ) || softmax(student/τ)) summed over the vocabulary,
/// mean over positions, in fp32. student_logits, teacher_logits [..., V].
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature);

}  // namespace cocomix
