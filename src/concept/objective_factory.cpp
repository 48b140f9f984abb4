// make_objective: one place that maps concept.mode to an Objective.
#include "cocomix/concept/objective_factory.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/concept/cocomix_objective.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/concept/tokenizer_identity.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

/// The teacher, checked against the student.
GPT checked_teacher(const Config& config) {
  check_same_tokenizer(config);
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

/// hidden_prediction's L_t and d_t against the teacher.
void check_hidden_target(const Config& config, GPT& teacher) {
  const auto& k = config.concepts;
  const auto& t = teacher->config();
  if (k.teacher_layer > t.n_layer)
    throw UsageError(config.source + ": concept.teacher_layer: " + std::to_string(k.teacher_layer) +
                     " is beyond the teacher's " + std::to_string(t.n_layer) + " blocks (" + k.teacher_path +
                     "); use 1.." + std::to_string(t.n_layer));
  if (k.teacher_n_embd != t.n_embd)
    throw UsageError(config.source + ": concept.teacher_n_embd: " + std::to_string(k.teacher_n_embd) +
                     " differs from the teacher's n_embd = " + std::to_string(t.n_embd) + " (" + k.teacher_path + ")");
}

/// Keeps torch's default CPU generator where it was across the teacher's and the
/// SAE's loading: their constructors draw a throwaway init, and the student's
/// dropout stream must not depend on whether they are loaded (a run from a label
/// cache loads neither, and must train exactly as the online one).
class KeepDefaultGenerator {
 public:
  KeepDefaultGenerator() : generator_(at::detail::getDefaultCPUGenerator()), state_(generator_.get_state()) {}
  ~KeepDefaultGenerator() { generator_.set_state(state_); }
  KeepDefaultGenerator(const KeepDefaultGenerator&) = delete;
  KeepDefaultGenerator& operator=(const KeepDefaultGenerator&) = delete;

 private:
  at::Generator generator_;
  torch::Tensor state_;
};

}  // namespace

Insertion insertion_of(const std::string& mode) {
  if (mode == "cocomix" || mode == "insertion_only" || mode == "hidden_prediction")
    return Insertion::kConceptInterleave;
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
  HiddenPredictor hidden{nullptr};
  if (k.uses_hidden_prediction())
    hidden = HiddenPredictor(config.model.n_embd, k.hidden_width(config.model.n_embd), k.teacher_n_embd,
                             config.model.init_std);
  CoCoMixOptions options;
  options.insert_layer = k.insert_layer;
  options.insertion = insertion_of(k.mode);
  options.concept_weight = k.uses_sae() ? k.weight : 0.0;
  options.kd_weight = k.uses_kd() ? k.kd_weight : 0.0;
  options.kd_temperature = k.kd_temperature;
  options.teacher_bf16 = k.teacher_precision == "bf16";
  if (k.uses_hidden_prediction()) {
    options.hidden_weight = k.weight;
    options.hidden_loss = parse_hidden_loss(k.hidden_loss, config.source + ": concept.hidden_loss");
    options.teacher_layer = k.teacher_layer;
  }
  // The objective's own parameters (pause vector) draw next; the teacher and SAE
  // leave the generator as they found it.
  auto objective = std::make_unique<CoCoMixObjective>(std::move(student), std::move(head), std::move(hidden), nullptr,
                                                      GPT(nullptr), options);
  // A label cache replaces the labeler (and the concept modes have no KD teacher).
  const bool labels_online = k.uses_sae() && k.label_cache.empty();
  if (with_teacher && (labels_online || k.uses_kd() || k.uses_hidden_prediction())) {
    KeepDefaultGenerator keep_generator;
    GPT teacher = checked_teacher(config);
    if (k.uses_hidden_prediction()) check_hidden_target(config, teacher);
    if (k.uses_kd() || k.uses_hidden_prediction()) objective->set_teacher(teacher);
    if (labels_online) objective->set_labeler(make_labeler(config, teacher));
  }
  return objective;
}

std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config) {
  KeepDefaultGenerator keep_generator;
  return make_labeler(config, checked_teacher(config));
}

}  // namespace cocomix
