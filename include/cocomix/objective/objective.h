// The training loss of every mode (method spec §3-4), composed from the mode
// table (config/mode.h) around a student CocomixModel:
//   NTP, or (1-α)·NTP + α·KD(student ‖ teacher)       when the mode has KD
//   + λ·L_concept(concept logits, labels)               when it has a concept loss
//   + λ·D(ĥ, h_t)                                      when it has a hidden-state target
// Concept labels come from a LabelSource (online teacher + SAE, or a label
// cache); the teacher runs for KD and for the hidden-state target h_t.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/concept/label_source.h"
#include "cocomix/config/config.h"
#include "cocomix/data/batch.h"
#include "cocomix/model/autocast.h"
#include "cocomix/model/cocomix_model.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// What the loss of one micro-batch is.
struct ObjectiveOutput {
  torch::Tensor loss;                                        ///< scalar to backpropagate (mean over tokens)
  std::vector<std::pair<std::string, torch::Tensor>> parts;  ///< named scalar components to log (detached)
};

class Objective {
 public:
  /// labels: null without a concept loss, or when built for evaluation.
  /// teacher: the frozen teacher of KD and of the hidden-state target (null
  /// without either, or for evaluation). compute() says what is missing.
  Objective(CocomixModel model, const ConceptConfig& concepts, std::unique_ptr<LabelSource> labels, GPT teacher);

  /// Forward + loss on one micro-batch (inputs/targets [B, T]).
  ObjectiveOutput compute(const Batch& batch);
  /// The loss for given concept labels [B, T, K_attr] (undefined without a
  /// concept loss) and teacher hidden state h_t [B, T, d_t] (undefined without
  /// a hidden-state target).
  ObjectiveOutput loss_with_labels(const Batch& batch, const torch::Tensor& labels,
                                   const torch::Tensor& teacher_hidden = {});

  /// Moves the student, the teacher and the labeler to `device`.
  void to(const torch::Device& device);
  CocomixModel& model() { return model_; }
  /// The online labeler; null for labels from a cache or without a concept loss.
  ConceptLabeler* labeler() { return labels_ ? labels_->labeler() : nullptr; }

 private:
  CocomixModel model_;
  ConceptConfig concepts_;
  TeacherPrecision teacher_precision_;  ///< concepts_.teacher_precision, parsed
  std::unique_ptr<LabelSource> labels_;
  GPT teacher_;
};

}  // namespace cocomix
