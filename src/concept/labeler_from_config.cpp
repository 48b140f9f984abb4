// The teacher and concept labeler a config names, loaded and checked against
// the student and each other.
#include "cocomix/concept/labeler_from_config.h"

#include <torch/torch.h>

#include <filesystem>

#include "cocomix/concept/teacher.h"
#include "cocomix/concept/tokenizer_identity.h"
#include "cocomix/util/error.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

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

GPT load_checked_teacher(const Config& config) {
  KeepDefaultGenerator keep_generator;
  check_same_tokenizer(config);
  GPT teacher = load_teacher(config.concepts.teacher_path);
  const auto& t = teacher->config();
  if (t.vocab_size != config.model.vocab_size)
    throw UsageError(config.source + ": concept.teacher_path: the teacher's vocab_size " +
                     std::to_string(t.vocab_size) + " differs from model.vocab_size " +
                     std::to_string(config.model.vocab_size) + " (teacher and student must share the tokenizer)");
  return teacher;
}

void check_sae_pairing(const Config& config, const SaeInfo& info, const ModelConfig& teacher,
                       const std::string& sae_file) {
  const auto& k = config.concepts;
  const auto fail = [&](const std::string& what) { throw UsageError(config.source + ": " + what); };
  if (info.d != teacher.n_embd)
    fail("concept.sae_path: the SAE's width d = " + std::to_string(info.d) + " (" + sae_file +
         ") differs from the teacher's n_embd = " + std::to_string(teacher.n_embd));
  if (info.layer > teacher.n_layer)
    fail("concept.sae_path: the SAE's layer " + std::to_string(info.layer) + " (" + sae_file +
         ") is beyond the teacher's " + std::to_string(teacher.n_layer) + " blocks");
  if (info.n_latents != k.n_concepts)
    fail("concept.n_concepts: " + std::to_string(k.n_concepts) + " differs from the SAE's n_latents " +
         std::to_string(info.n_latents) + " (" + sae_file + ")");
  if (k.selection == LabelSelection::kAttribution && k.k_attr > info.k)
    fail("concept.k_attr: " + std::to_string(k.k_attr) + " exceeds the SAE's k = " + std::to_string(info.k) +
         ": post-TopK attribution has only k nonzero scores per position");
}

std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config, GPT teacher) {
  KeepDefaultGenerator keep_generator;
  const auto& k = config.concepts;
  const std::string sae_file = (std::filesystem::path(k.sae_path) / "sae.json").string();
  TopKSae sae = load_sae(k.sae_path);
  check_sae_pairing(config, sae->info(), teacher->config(), sae_file);
  // Labels from an SAE of another teacher would be codes of the wrong residual stream: refused,
  // as steering refuses it (sae eval and explain, which measure any pairing, only warn).
  if (!sae->info().teacher_sha256.empty()) {
    const auto mismatch =
        teacher_mismatch(sae->info(), sha256_file_hex(teacher_weights_file(k.teacher_path)), "concept.teacher_path's");
    if (!mismatch.empty()) throw UsageError(config.source + ": concept.sae_path: " + sae_file + ": " + mismatch);
  }
  return std::make_unique<ConceptLabeler>(
      std::move(teacher), std::move(sae), k.k_attr, k.selection,
      parse_teacher_precision(k.teacher_precision, config.source + ": concept.teacher_precision"));
}

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

std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config) {
  return make_concept_labeler(config, load_checked_teacher(config));
}

}  // namespace cocomix
