// The sizes of the frozen teacher and SAE a config names, for the memory plan
// (model/memory_plan.h): read from their small JSON files (a Hugging Face
// config.json or a cocomix checkpoint's config.json, the SAE's sae.json), no
// weights loaded; assumed when a file is not there, and the notes say which.
#pragma once

#include "cocomix/config/config.h"
#include "cocomix/model/memory_plan.h"

namespace cocomix {

/// The teacher of concept.teacher_path and the SAE of concept.sae_path, each
/// read only when the mode runs it in the loop (ModeSpec::needs_teacher /
/// needs_sae). A path that is not there: the teacher is GPT-2 small
/// (ModelConfig's defaults); the SAE has concept.n_concepts latents of the
/// teacher's width, k 32, on layer n_layer / 2 (GPT-2 small's layer 6, the
/// paper's). Throws RuntimeError naming the file and field when a file that is
/// there is not valid, and UsageError when a teacher and an SAE that are both
/// there do not fit each other or the config (check_sae_pairing).
FrozenShapes frozen_shapes_of(const Config& config);

}  // namespace cocomix
