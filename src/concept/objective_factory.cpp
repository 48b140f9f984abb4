// make_objective: one place that maps concept.mode to an Objective.
#include "cocomix/concept/objective_factory.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/concept/cocomix_objective.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

/// The teacher, checked against the student.
GPT checked_teacher(const Config& config) {
  GPT teacher = load_teacher(config.concepts.teacher_path);
  const auto& t = teacher->config();
  if (t.vocab_size != config.model.vocab_size)
    throw UsageError(config.source + ": concept.teacher_path: the teacher's vocab_size " +
                     std::to_string(t.vocab_size) + " differs from model.vocab_size " +
                     std::to_string(config.model.vocab_size) + " (teacher and student must share the tokenizer)");
  return teacher;
}

std::unique_ptr<ConceptLabeler> make_labeler(const Config& config, GPT teacher) {
  const auto& k = config.concepts;
  const std::string sae_file = (std::filesystem::path(k.sae_path) / "sae.json").string();
  TopKSae sae = load_sae(k.sae_path);
  const auto& info = sae->info();
  const auto& t = teacher->config();
  const auto fail = [&](const std::string& what) { throw UsageError(config.source + ": " + what); };
  if (info.d != t.n_embd)
    fail("concept.sae_path: the SAE's width d = " + std::to_string(info.d) + " (" + sae_file +
         ") differs from the teacher's n_embd = " + std::to_string(t.n_embd));
  if (info.layer > t.n_layer)
    fail("concept.sae_path: the SAE's layer " + std::to_string(info.layer) + " (" + sae_file +
         ") is beyond the teacher's " + std::to_string(t.n_layer) + " blocks");
  if (info.n_latents != k.n_concepts)
    fail("concept.n_concepts: " + std::to_string(k.n_concepts) + " differs from the SAE's n_latents " +
         std::to_string(info.n_latents) + " (" + sae_file + ")");
  if (k.selection == "attribution" && k.k_attr > info.k)
    fail("concept.k_attr: " + std::to_string(k.k_attr) + " exceeds the SAE's k = " + std::to_string(info.k) +
         ": post-TopK attribution has only k nonzero scores per position");
  return std::make_unique<ConceptLabeler>(std::move(teacher), std::move(sae), k.k_attr,
                                          parse_label_selection(k.selection, "concept.selection"),
                                          k.teacher_precision == "bf16");
}

}  // namespace

Insertion insertion_of(const std::string& mode) {
  if (mode == "cocomix" || mode == "insertion_only") return Insertion::kConceptInterleave;
  if (mode == "intervention") return Insertion::kConceptAdd;
  if (mode == "pause" || mode == "pause_kd") return Insertion::kPauseInterleave;
  return Insertion::kNone;  // ntp, concept_loss_only, kd
}

std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher) {
  const auto& k = config.concepts;
  if (k.mode == "ntp") return std::make_unique<NextTokenObjective>(GPT(config.model));
  GPT student(config.model);
  ConceptHead head{nullptr};
  if (k.uses_concept_head()) head = ConceptHead(config.model.n_embd, k.n_concepts, k.k_pred, config.model.init_std);
  CoCoMixOptions options;
  options.insert_layer = k.insert_layer;
  options.insertion = insertion_of(k.mode);
  options.concept_weight = k.uses_sae() ? k.weight : 0.0;
  options.kd_weight = k.uses_kd() ? k.kd_weight : 0.0;
  options.kd_temperature = k.kd_temperature;
  options.teacher_bf16 = k.teacher_precision == "bf16";
  // The objective's own parameters (pause vector) draw next, then the teacher
  // (whose construction draws an init it then overwrites).
  auto objective =
      std::make_unique<CoCoMixObjective>(std::move(student), std::move(head), nullptr, GPT(nullptr), options);
  if (with_teacher && (k.uses_sae() || k.uses_kd())) {
    GPT teacher = checked_teacher(config);
    if (k.uses_kd()) objective->set_kd_teacher(teacher);
    if (k.uses_sae()) objective->set_labeler(make_labeler(config, teacher));
  }
  return objective;
}

}  // namespace cocomix
