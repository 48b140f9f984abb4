// The frozen teacher and the concept labeler (teacher + SAE) of a config,
// checked at start-up against the student and against each other. Loading them
// leaves torch's default generator where it was: their constructors draw a
// throwaway init, and a student's random streams must not depend on whether
// they are loaded (a run from a label cache loads neither).
#pragma once

#include <memory>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/sae_info.h"
#include "cocomix/config/config.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// concept.teacher_path loaded (teacher.h) and checked: the same tokenizer and
/// vocabulary as the student. Throws UsageError / RuntimeError naming the file.
GPT load_checked_teacher(const Config& config);

/// hidden_prediction's L_t (concept.teacher_layer) and d_t (teacher_n_embd) against the teacher.
void check_hidden_target(const Config& config, GPT& teacher);

/// The SAE of `sae_file` (`info`) against the teacher's model and the config:
/// SAE width = teacher width, its layer within the teacher, n_concepts = its
/// latents, K_attr <= k_sae under "attribution". Throws UsageError naming
/// config.source, the field and the SAE file.
void check_sae_pairing(const Config& config, const SaeInfo& info, const ModelConfig& teacher,
                       const std::string& sae_file);

/// The labeler over `teacher` and concept.sae_path's SAE, checked by check_sae_pairing and,
/// when sae.json records a teacher_sha256, against the hash of concept.teacher_path's weights
/// (UsageError: the SAE encodes another model).
std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config, GPT teacher);
/// The same over load_checked_teacher(config).
std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config);

}  // namespace cocomix
