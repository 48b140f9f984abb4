// The CoCoMix training objective (method spec §3): the student GPT runs blocks
// [0, L_s), its concept head predicts and compresses concepts, the sequence
// becomes h0, c0, h1, c1, ... (2T) for blocks [L_s, n_layer), and the concept
// slots go to ln_f and the LM head. Loss = L_NTP + λ · L_concept, the labels
// coming from a ConceptLabeler (teacher + SAE) on the same batch.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/concept/concept_head.h"
#include "cocomix/concept/concept_labeler.h"
#include "cocomix/train/objective.h"

namespace cocomix {

/// The tensors a student forward produces.
struct CoCoMixForward {
  torch::Tensor mixed;  ///< [B, 2T, d] the interleaved sequence entering block L_s
  torch::Tensor slots;  ///< [B, T, d] the concept slots after the last block (before ln_f)
  ConceptPrediction prediction;
};

/// Interleaves h and c [B, T, d] into [B, 2T, d] = h0, c0, h1, c1, ...
torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c);

class CoCoMixObjective : public Objective {
 public:
  /// labeler may be null for evaluation (logits() needs no teacher); compute() then throws.
  CoCoMixObjective(GPT student, ConceptHead head, std::unique_ptr<ConceptLabeler> labeler, int64_t insert_layer,
                   double concept_weight);

  ObjectiveOutput compute(const Batch& batch) override;
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() override;
  void train(bool on) override;
  void to(const torch::Device& device) override;
  /// The GPT under Hugging Face names plus the head under "concept.*".
  TensorMap state_dict() override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  torch::Tensor logits(const torch::Tensor& inputs) override;

  /// The student forward on inputs [B, T].
  CoCoMixForward forward(const torch::Tensor& inputs);
  /// Both losses for given labels [B, T, K_attr]: {ntp, concept}.
  std::pair<torch::Tensor, torch::Tensor> losses(const Batch& batch, const torch::Tensor& labels);

  GPT& model() { return student_; }
  ConceptHead& head() { return head_; }
  ConceptLabeler* labeler() { return labeler_.get(); }

 private:
  GPT student_;
  ConceptHead head_;
  std::unique_ptr<ConceptLabeler> labeler_;
  int64_t insert_layer_;
  double concept_weight_;
};

/// Prefix of the concept head's tensors in checkpoints and parameter names.
constexpr const char* kConceptPrefix = "concept.";

}  // namespace cocomix
