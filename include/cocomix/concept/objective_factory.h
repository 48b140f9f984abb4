// Builds the Objective that config.concept.mode names, checking at start-up,
// before any training, that teacher, SAE and student fit together.
#pragma once

#include <memory>
#include <string>

#include "cocomix/concept/cocomix_objective.h"
#include "cocomix/concept/concept_labeler.h"
#include "cocomix/config/config.h"
#include "cocomix/train/objective.h"

namespace cocomix {

/// mode "ntp": NextTokenObjective; every other mode a CoCoMixObjective (the
/// mode decides insertion, concept loss and KD; config.h lists them). with_teacher
/// loads the teacher (and the SAE for concept-loss modes) and checks them: SAE
/// width = teacher width, L_t in [1, teacher n_layer], the same vocabulary,
/// n_concepts = the SAE's latents, K_attr <= k_sae under "attribution". Without,
/// the objective is built for evaluation. Parameters are drawn from torch's
/// default generator in a fixed order: student, concept head, pause vector.
/// Throws UsageError / RuntimeError naming the file and field.
/// With concept.label_cache set, the concept-loss modes load no teacher and no
/// SAE: the labels come with each batch (Batch::concept_labels).
std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher);

/// The concept labeler of `config` (teacher + SAE, checked as above), for the
/// online labels and for building a label cache.
std::unique_ptr<ConceptLabeler> make_concept_labeler(const Config& config);

/// What concept.mode inserts at block L_s (kNone for ntp, kd, concept_loss_only:
/// their forward is the plain GPT's).
Insertion insertion_of(const std::string& mode);

}  // namespace cocomix
