// The CoCoMix objective and the baselines and ablations that share its student
// (method spec §3-4). The student GPT runs blocks [0, L_s); at L_s a vector is
// inserted per token: the concept head's compressed concepts c interleaved as
// h0, c0, h1, c1, ... (CoCoMix), added as h + c (intervention), a learned pause
// vector interleaved the same way (pause tokens), or nothing; blocks
// [L_s, n_layer) run on the result and the inserted slots (or the tokens, when
// nothing is interleaved) go to ln_f and the LM head.
// Loss = NTP (or (1-α)·NTP + α·KD) + λ·L_concept, labels from a ConceptLabeler
// or, when the batch carries them, from a label cache (concept/label_cache.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/concept/concept_head.h"
#include "cocomix/concept/concept_labeler.h"
#include "cocomix/train/objective.h"

namespace cocomix {

/// What enters the residual stream at block L_s.
enum class Insertion {
  kConceptInterleave,  ///< h0, c0, h1, c1, ... [B, 2T, d] (CoCoMix)
  kConceptAdd,         ///< h + c [B, T, d] (the "intervention" ablation)
  kPauseInterleave,    ///< h0, p, h1, p, ... with one learned vector p [d] (pause tokens)
  kNone,               ///< nothing (concept-loss-only ablation; KD)
};

struct CoCoMixOptions {
  int64_t insert_layer = 0;  ///< L_s
  Insertion insertion = Insertion::kConceptInterleave;
  double concept_weight = 0;  ///< λ; > 0 needs a labeler (teacher + SAE)
  double kd_weight = 0;       ///< α of (1-α)·NTP + α·KD; > 0 needs a teacher
  double kd_temperature = 1;  ///< τ
  bool teacher_bf16 = false;  ///< run the KD teacher under bf16 autocast
};

/// The tensors a student forward produces.
struct CoCoMixForward {
  torch::Tensor mixed;           ///< the sequence entering block L_s: [B, 2T, d] interleaved, else [B, T, d]
  torch::Tensor slots;           ///< [B, T, d] after the last block, before ln_f: the positions that predict token t+1
  ConceptPrediction prediction;  ///< defined when the objective has a concept head
};

/// Interleaves h and c [B, T, d] into [B, 2T, d] = h0, c0, h1, c1, ...
torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c);

class CoCoMixObjective : public Objective {
 public:
  /// head: null when nothing needs concepts (pause, KD). labeler: null when λ = 0
  /// or for evaluation. kd_teacher: the KD teacher (null without KD; the labeler's
  /// teacher may be passed again). compute() throws when a needed part is missing.
  /// A pause vector [d] ~ N(0, init_std) is drawn here for kPauseInterleave.
  CoCoMixObjective(GPT student, ConceptHead head, std::unique_ptr<ConceptLabeler> labeler, GPT kd_teacher,
                   const CoCoMixOptions& options);
  void set_labeler(std::unique_ptr<ConceptLabeler> labeler) { labeler_ = std::move(labeler); }
  void set_kd_teacher(GPT teacher) { kd_teacher_ = std::move(teacher); }

  ObjectiveOutput compute(const Batch& batch) override;
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() override;
  void train(bool on) override;
  void to(const torch::Device& device) override;
  /// The GPT under Hugging Face names, the head under "concept.*", the pause vector as "pause.vector".
  TensorMap state_dict() override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  torch::Tensor logits(const torch::Tensor& inputs) override;

  /// The student forward on inputs [B, T].
  CoCoMixForward forward(const torch::Tensor& inputs);
  /// The loss and its named parts for given concept labels [B, T, K_attr]
  /// (undefined when λ = 0).
  ObjectiveOutput loss_with_labels(const Batch& batch, const torch::Tensor& labels);

  GPT& model() { return student_; }
  ConceptHead& head() { return head_; }
  ConceptLabeler* labeler() { return labeler_.get(); }

 private:
  GPT student_;
  ConceptHead head_;
  torch::Tensor pause_;  ///< [d], defined for kPauseInterleave
  std::unique_ptr<ConceptLabeler> labeler_;
  GPT kd_teacher_;
  CoCoMixOptions options_;
};

/// Checkpoint / parameter name prefixes of the parts beside the GPT.
constexpr const char* kConceptPrefix = "concept.";
constexpr const char* kPauseVectorName = "pause.vector";

}  // namespace cocomix
