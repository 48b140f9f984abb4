// make_objective: one place that maps concept.mode to an Objective.
#include "cocomix/concept/objective_factory.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/concept/cocomix_objective.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

std::unique_ptr<ConceptLabeler> make_labeler(const Config& config) {
  const auto& k = config.concepts;
  const std::string sae_file = (std::filesystem::path(k.sae_path) / "sae.json").string();
  GPT teacher = load_teacher(k.teacher_path);
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
  if (t.vocab_size != config.model.vocab_size)
    fail("concept.teacher_path: the teacher's vocab_size " + std::to_string(t.vocab_size) +
         " differs from model.vocab_size " + std::to_string(config.model.vocab_size) +
         " (teacher and student must share the tokenizer)");
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

std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher) {
  const auto& k = config.concepts;
  if (k.mode == "ntp") return std::make_unique<NextTokenObjective>(GPT(config.model));
  GPT student(config.model);
  ConceptHead head(config.model.n_embd, k.n_concepts, k.k_pred, config.model.init_std);
  // After the student: building the teacher draws (then overwrites) an init.
  auto labeler = with_teacher ? make_labeler(config) : nullptr;
  return std::make_unique<CoCoMixObjective>(std::move(student), std::move(head), std::move(labeler), k.insert_layer,
                                            k.weight);
}

}  // namespace cocomix
