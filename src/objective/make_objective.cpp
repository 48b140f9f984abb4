// make_objective: the student, its labels and its teacher, as the mode table says.
#include "cocomix/objective/make_objective.h"

#include <torch/torch.h>

#include "cocomix/concept/labeler_from_config.h"
#include "cocomix/util/log.h"

namespace cocomix {

std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher) {
  const auto& k = config.concepts;
  const ModeSpec& mode = k.spec();
  // A label cache is checked (hashes, layout, sampling) before anything is built.
  const bool labels_from_cache = !k.label_cache.empty();
  std::unique_ptr<LabelSource> labels;
  if (with_teacher && mode.concept_loss && labels_from_cache) {
    LabelCache cache = LabelCache::open_for(config);
    log_info("concept labels from " + k.label_cache + " (" + cache.header().at("windows").dump() +
             " windows); no teacher in the loop");
    labels = std::make_unique<CachedLabels>(std::move(cache));
  }
  // The student draws its initialisation; the teacher and SAE leave the generator as they found it.
  CocomixModel model(config.model, k);
  model->gpt()->set_activation_checkpointing(config.train.activation_checkpointing);
  GPT teacher{nullptr};
  if (with_teacher && mode.needs_teacher(labels_from_cache)) {
    teacher = load_checked_teacher(config);
    if (mode.hidden_target) check_hidden_target(config, teacher);
    if (mode.needs_sae(labels_from_cache))
      labels = std::make_unique<OnlineLabels>(make_concept_labeler(config, teacher));
    if (!mode.kd && !mode.hidden_target) teacher = GPT(nullptr);  // only the labeler runs it
  }
  return std::make_unique<Objective>(std::move(model), k, std::move(labels), std::move(teacher));
}

}  // namespace cocomix
