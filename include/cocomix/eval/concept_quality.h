// How well a student's concept head predicts the teacher's concept labels, on
// the validation windows of a token file: the concept loss exactly as training
// computes it (objective/concept_losses.h on the labeler's K_attr labels), and
// recall: the share of the K_attr label concepts among the k_pred concepts the
// head keeps (ConceptPrediction::top_indices), and the same for the top label alone.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/cocomix_model.h"

namespace cocomix {

struct ConceptQualityOptions {
  int64_t seq_len = 1024;      ///< window length T
  int64_t batch_size = 8;      ///< windows per forward pass
  int64_t max_windows = 0;     ///< 0 = every full window of the file
  int64_t vocab_size = 50257;  ///< ids >= this are an error
  bool bf16 = false;           ///< bf16 autocast for the student (the labeler keeps concept.teacher_precision)
  torch::Device device = torch::kCPU;
};

/// Label hits among the kept concepts, counted over positions.
struct ConceptRecallCounts {
  int64_t positions = 0;
  int64_t labels = 0;      ///< positions · K_attr
  int64_t label_hits = 0;  ///< labels among their position's kept concepts
  int64_t top1_hits = 0;   ///< positions whose first (best) label is kept
};

struct ConceptQualityResult {
  double concept_loss = 0;  ///< mean over positions, as Objective's concept term (before λ)
  double label_recall = 0;  ///< label_hits / labels
  double top1_recall = 0;   ///< top1_hits / positions
  ConceptRecallCounts counts;
  int64_t windows = 0;
  int64_t k_attr = 0;
  int64_t k_pred = 0;
};

/// labels [..., K_attr] (distinct per position, best first) against kept [..., k_pred].
ConceptRecallCounts count_concept_recall(const torch::Tensor& labels, const torch::Tensor& kept);

/// The online labeler of `loaded`'s concept section: its teacher and SAE, or
/// `teacher_dir` / `sae_dir` instead when not empty; checked as training checks
/// them (labeler_from_config.h). UsageError when the checkpoint's mode has no
/// concept head, or no teacher or SAE is named.
std::unique_ptr<ConceptLabeler> concept_quality_labeler(const LoadedModel& loaded, const std::string& teacher_dir,
                                                        const std::string& sae_dir);

/// Scores `student`'s concept head against `labeler` on the validation windows
/// of `file` (validation_window_starts); only the student's lower blocks and
/// head run. RuntimeError when the file holds no window.
ConceptQualityResult evaluate_concept_quality(CocomixModel& student, ConceptLabeler& labeler, const TokenCorpus& corpus,
                                              const ConceptQualityOptions& options);

}  // namespace cocomix
