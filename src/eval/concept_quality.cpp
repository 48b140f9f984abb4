// evaluate_concept_quality: the labeler's labels and the student's head on the
// same windows; the loss summed per position in fp64 so that the mean does not
// depend on the batch size.
#include "cocomix/eval/concept_quality.h"

#include <torch/torch.h>

#include "cocomix/concept/labeler_from_config.h"
#include "cocomix/data/batch.h"
#include "cocomix/model/autocast.h"
#include "cocomix/objective/concept_losses.h"
#include "cocomix/util/error.h"

namespace cocomix {

ConceptRecallCounts count_concept_recall(const torch::Tensor& labels, const torch::Tensor& kept) {
  const auto hits = (labels.unsqueeze(-1) == kept.unsqueeze(-2)).any(-1);  // [..., K_attr]
  ConceptRecallCounts counts;
  counts.positions = labels.numel() / labels.size(-1);
  counts.labels = labels.numel();
  counts.label_hits = hits.sum().item<int64_t>();
  counts.top1_hits = hits.select(-1, 0).sum().item<int64_t>();
  return counts;
}

std::unique_ptr<ConceptLabeler> concept_quality_labeler(const LoadedModel& loaded, const std::string& teacher_dir,
                                                        const std::string& sae_dir) {
  Config config = loaded.config;
  if (!config.concepts.spec().concept_head)
    throw UsageError("--concepts: " + loaded.checkpoint_dir + ": mode \"" + config.concepts.spec().name +
                     "\" has no concept head to score; give a checkpoint of a mode with one");
  if (!teacher_dir.empty()) config.concepts.teacher_path = teacher_dir;
  if (!sae_dir.empty()) config.concepts.sae_path = sae_dir;
  if (!teacher_dir.empty() || !sae_dir.empty()) config.source += " with --teacher/--sae";
  if (config.concepts.teacher_path.empty() || config.concepts.sae_path.empty())
    throw UsageError("--concepts: " + loaded.checkpoint_dir + "/config.json names no teacher and SAE (concept." +
                     (config.concepts.teacher_path.empty() ? "teacher_path" : "sae_path") +
                     " is empty); give --teacher DIR and --sae DIR");
  return make_concept_labeler(config);
}

ConceptQualityResult evaluate_concept_quality(CocomixModel& student, ConceptLabeler& labeler, const TokenCorpus& corpus,
                                              const ConceptQualityOptions& options) {
  if (!student->concept_head()) throw UsageError("evaluate_concept_quality: the student has no concept head");
  ConceptQualityResult result;
  double loss_sum = 0;
  result.windows = for_each_validation_batch(
      corpus, options.seq_len, options.max_windows, options.batch_size, options.vocab_size, [&](const Batch& batch) {
        const auto inputs = batch.inputs.to(options.device);
        const auto labels = labeler.label(inputs).labels;  // [B, T, K_attr]; the teacher's backward needs grad mode
        torch::NoGradGuard no_grad;
        StudentOutput out;
        {
          AutocastScope autocast(options.device.type(), options.bf16);
          student->predict(student->lower(inputs), out);
        }
        const auto counts = count_concept_recall(labels, out.prediction.top_indices);
        loss_sum +=
            concept_loss(out.prediction.logits, labels).item<double>() * static_cast<double>(counts.positions);
        result.counts.positions += counts.positions;
        result.counts.labels += counts.labels;
        result.counts.label_hits += counts.label_hits;
        result.counts.top1_hits += counts.top1_hits;
        result.k_attr = labels.size(-1);
        result.k_pred = out.prediction.top_indices.size(-1);
      });
  result.concept_loss = loss_sum / static_cast<double>(result.counts.positions);
  result.label_recall = static_cast<double>(result.counts.label_hits) / static_cast<double>(result.counts.labels);
  result.top1_recall = static_cast<double>(result.counts.top1_hits) / static_cast<double>(result.counts.positions);
  return result;
}

}  // namespace cocomix
