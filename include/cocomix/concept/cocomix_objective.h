// The CoCoMix objective and the baselines and ablations that share its student
// (method spec §3-4). The student GPT runs blocks [0, L_s); at L_s a vector is
// inserted per token: the concept head's compressed concepts c interleaved as
// h0, c0, h1, c1, ... (CoCoMix), added as h + c (intervention), a learned pause
// vector interleaved the same way (pause tokens), the compressed prediction of
// the teacher's hidden state interleaved like c (hidden_prediction), or nothing; blocks
// [L_s, n_layer) run on the result and the inserted slots (or the tokens, when
// nothing is interleaved) go to ln_f and the LM head.
// Loss = NTP (or (1-α)·NTP + α·KD) + λ·L_concept, labels from a ConceptLabeler
// or, when the batch carries them, from a label cache (concept/label_cache.h);
// hidden_prediction: NTP + λ·D(ĥ, h_t), h_t from the frozen teacher (detached).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/concept/concept_head.h"
#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/hidden_predictor.h"
#include "cocomix/train/objective.h"

namespace cocomix {

/// What enters the residual stream at block L_s.
enum class Insertion {
  kConceptInterleave,  ///< h0, c0, h1, c1, ... [B, 2T, d] (CoCoMix; c = the compressed ĥ in hidden_prediction)
  kConceptAdd,         ///< h + c [B, T, d] (the "intervention" ablation)
  kPauseInterleave,    ///< h0, p, h1, p, ... with one learned vector p [d] (pause tokens)
  kNone,               ///< nothing (concept-loss-only ablation; KD)
};

struct CoCoMixOptions {
  int64_t insert_layer = 0;  ///< L_s
  Insertion insertion = Insertion::kConceptInterleave;
  double concept_weight = 0;                 ///< λ; > 0 needs a labeler (teacher + SAE)
  double kd_weight = 0;                      ///< α of (1-α)·NTP + α·KD; > 0 needs a teacher
  double kd_temperature = 1;                 ///< τ
  bool teacher_bf16 = false;                 ///< run the teacher (KD, hidden-state target) under bf16 autocast
  double hidden_weight = 0;                  ///< λ of λ·D(ĥ, h_t); > 0 needs a hidden predictor and a teacher
  HiddenLoss hidden_loss = HiddenLoss::kL2;  ///< D
  int64_t teacher_layer = 0;                 ///< L_t of the hidden-state target h_t
};

/// The tensors a student forward produces.
struct CoCoMixForward {
  torch::Tensor mixed;           ///< the sequence entering block L_s: [B, 2T, d] interleaved, else [B, T, d]
  torch::Tensor slots;           ///< [B, T, d] after the last block, before ln_f: the positions that predict token t+1
  ConceptPrediction prediction;  ///< defined when the objective has a concept head
  torch::Tensor predicted_hidden;   ///< [B, T, d_t] ĥ, defined when the objective has a hidden predictor
  torch::Tensor compressed_hidden;  ///< [B, T, d] the compressed ĥ, interleaved like c
};

/// Interleaves h and c [B, T, d] into [B, 2T, d] = h0, c0, h1, c1, ...
torch::Tensor interleave(const torch::Tensor& h, const torch::Tensor& c);

class CoCoMixObjective : public Objective {
 public:
  /// head: null when nothing needs concepts (pause, KD). hidden: the hidden
  /// predictor of hidden_prediction (null otherwise; at most one of head and
  /// hidden). labeler: null when λ = 0 or for evaluation. teacher: the frozen
  /// teacher of KD and of the hidden-state target (null without either or for
  /// evaluation; the labeler's teacher may be passed again). compute() throws
  /// when a needed part is missing. A pause vector [d] ~ N(0, init_std) is drawn
  /// here for kPauseInterleave.
  CoCoMixObjective(GPT student, ConceptHead head, HiddenPredictor hidden, std::unique_ptr<ConceptLabeler> labeler,
                   GPT teacher, const CoCoMixOptions& options);
  void set_labeler(std::unique_ptr<ConceptLabeler> labeler) { labeler_ = std::move(labeler); }
  void set_teacher(GPT teacher) { teacher_ = std::move(teacher); }

  ObjectiveOutput compute(const Batch& batch) override;
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() override;
  void train(bool on) override;
  void to(const torch::Device& device) override;
  /// The GPT under Hugging Face names, the head under "concept.*", the hidden
  /// predictor under "hidden_prediction.*", the pause vector as "pause.vector".
  TensorMap state_dict() override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  /// ln_f of the slots of forward(inputs).
  torch::Tensor final_hidden(const torch::Tensor& inputs) override;
  torch::Tensor unembedding() override { return student_->transformer->wte->weight; }

  /// The student forward on inputs [B, T].
  CoCoMixForward forward(const torch::Tensor& inputs);
  /// The loss and its named parts for given concept labels [B, T, K_attr]
  /// (undefined without a concept loss) and, in hidden_prediction, the
  /// teacher's hidden state h_t [B, T, d_t] (the target; undefined otherwise).
  ObjectiveOutput loss_with_labels(const Batch& batch, const torch::Tensor& labels,
                                   const torch::Tensor& teacher_hidden = {});

  GPT& model() { return student_; }
  ConceptHead& head() { return head_; }
  HiddenPredictor& hidden_predictor() { return hidden_; }
  ConceptLabeler* labeler() { return labeler_.get(); }

 private:
  GPT student_;
  ConceptHead head_;
  HiddenPredictor hidden_;
  torch::Tensor pause_;  ///< [d], defined for kPauseInterleave
  std::unique_ptr<ConceptLabeler> labeler_;
  GPT teacher_;
  CoCoMixOptions options_;
};

/// Checkpoint / parameter name prefixes of the parts beside the GPT.
constexpr const char* kConceptPrefix = "concept.";
constexpr const char* kHiddenPredictionPrefix = "hidden_prediction.";
constexpr const char* kPauseVectorName = "pause.vector";

}  // namespace cocomix
