// Builds the Objective that config.concept.mode names, checking at start-up,
// before any training, that teacher, SAE and student fit together.
#pragma once

#include <memory>

#include "cocomix/config/config.h"
#include "cocomix/train/objective.h"

namespace cocomix {

/// mode "ntp": NextTokenObjective. mode "cocomix": CoCoMixObjective; with_teacher
/// loads the teacher and SAE and checks them (SAE width = teacher width, L_t in
/// [1, teacher n_layer], the same vocabulary, n_concepts = the SAE's latents,
/// K_attr <= k_sae under "attribution"); without, it is built for evaluation.
/// The student is built first, then the concept head, both from torch's default
/// generator. Throws UsageError / RuntimeError naming the file and field.
std::unique_ptr<Objective> make_objective(const Config& config, bool with_teacher);

}  // namespace cocomix
