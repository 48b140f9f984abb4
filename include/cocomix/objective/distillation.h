// The knowledge-distillation loss of the KD baseline (method spec §4).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace cocomix {

/// τ² · KL(softmax(teacher/τ) || softmax(student/τ)) summed over the vocabulary,
/// mean over positions, in fp32 (fp64 inputs stay fp64). student_logits,
/// teacher_logits [..., V]; the teacher gets no gradient. Computed over row chunks
/// of about `chunk_elements` logits, with the gradient τ·(softmax(s/τ) −
/// softmax(t/τ))/N made in the same pass, so no [N, V] intermediate is held
/// beyond that gradient (the plain expression keeps five of them for backward).
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature, int64_t chunk_elements = int64_t{1} << 22);

}  // namespace cocomix
