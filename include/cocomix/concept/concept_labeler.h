// Concept labels for a training batch (method spec §2): the frozen teacher's
// residual h after block L_t, its SAE code, the gradient of the teacher's
// next-token loss with respect to h (the backward traverses only the blocks
// above L_t), attribution scores (concept/attribution.h) and the K_attr best
// latents per position.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "cocomix/concept/sae.h"
#include "cocomix/config/config.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// One batch's labels and what produced them.
struct ConceptLabels {
  torch::Tensor labels;        ///< [B, T, K_attr] int64, by score descending, ties to the smaller latent index
  /// [B, T, C] the ranking scores of attribution_pre and activation. Undefined
  /// for attribution: every latent outside the SAE's TopK has z = 0 and score 0,
  /// so only the k_sae kept ones are scored (below) and the dense [N, d] x [d, C]
  /// product is never formed; the labels are those of the dense scores.
  torch::Tensor scores;
  torch::Tensor kept;          ///< [B, T, k_sae] attribution: the SAE's kept latents
  torch::Tensor kept_scores;   ///< [B, T, k_sae] attribution: (g · W_dec[:, kept]) * z[kept]
  torch::Tensor hidden;        ///< [B, T, d_t] teacher residual after block L_t (detached)
  torch::Tensor hidden_grad;   ///< [B, T, d_t] g = dL_teacher/dh
  torch::Tensor teacher_loss;  ///< scalar, mean CE of the teacher over the B·(T-1) in-window predictions
};

class ConceptLabeler {
 public:
  /// L_t is the SAE's layer; the SAE's weights must not change afterwards (the
  /// labeler keeps a transposed copy of the decoder). The teacher must be frozen
  /// (teacher.h); it and the SAE run at `precision` whatever the caller's
  /// autocast and TF32 settings.
  ConceptLabeler(GPT teacher, TopKSae sae, int64_t k_attr, LabelSelection selection,
                 TeacherPrecision precision = TeacherPrecision::kFp32);

  /// inputs [B, T] int64 with T >= 2 (the teacher predicts within the window: at
  /// the last position g = 0, every attribution score is 0 and the tie rule picks).
  ConceptLabels label(const torch::Tensor& inputs);

  void to(const torch::Device& device);
  GPT& teacher() { return teacher_; }
  TopKSae& sae() { return sae_; }
  TeacherPrecision precision() const { return precision_; }  ///< how the teacher and SAE compute
  LabelSelection selection() const { return selection_; }

 private:
  GPT teacher_;
  TopKSae sae_;
  int64_t k_attr_;
  LabelSelection selection_;
  TeacherPrecision precision_;
  torch::Tensor decoder_columns_;  ///< [C, d_t] the frozen decoder transposed once, for decoder_dots' gathers
};

}  // namespace cocomix
