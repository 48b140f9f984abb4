// Builds the Objective that config.concept.mode names, checking at start-up,
// before any training, that teacher, SAE and student fit together.
#pragma once

#include <memory>
#include <string>

#include "cocomix/concept/cocomix_objective.h"
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
std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher);

/// What concept.mode inserts at block L_s (kNone for ntp, kd, concept_loss_only:
/// their forward is the plain GPT's).
Insertion insertion_of(const std::string& mode);

}  // namespace cocomix
