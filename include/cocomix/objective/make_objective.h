// Builds the objective of a config: the student of concept.mode, and what its
// row of the mode table needs to train (teacher, SAE labeler or label cache),
// checked at start-up, before any training, to fit together.
#pragma once

#include <memory>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/config/config.h"
#include "cocomix/objective/objective.h"

namespace cocomix {

/// The student is drawn from torch's default generator (CocomixModel's order).
/// with_teacher loads what the mode's loss needs and checks it: the teacher
/// (same vocabulary as the student; L_t and d_t of a hidden-state target), the
/// SAE for a concept loss (SAE width = teacher width, its layer within the
/// teacher, n_concepts = its latents, K_attr <= k_sae under "attribution"), or,
/// with concept.label_cache set, the cache instead of teacher and SAE. Loading
/// them leaves the default generator where it was. Without with_teacher the
/// objective is built for evaluation. Throws UsageError / RuntimeError naming
/// the file and field.
std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher);

/// The concept labeler of `config` (teacher + SAE, checked as above), for
/// building a label cache and for benchmarks.
std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config);

}  // namespace cocomix
