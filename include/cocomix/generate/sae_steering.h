// Teacher-side steering (SAELens-style), the comparison for steering a CoCoMix
// student: an SAE's latents steered in the residual stream of the model it
// encodes. After block L_t the residual h becomes h + (ĥ' - ĥ), where ĥ is the
// SAE's reconstruction of h and ĥ' the reconstruction from the steered TopK
// code (concept_steering.h: the same rule the student's concept head applies).
// The SAE's reconstruction error stays in h; only the steered change is added.
#pragma once

#include <string>

#include "cocomix/concept/sae.h"
#include "cocomix/model/cocomix_model.h"

namespace cocomix {

/// Throws UsageError naming `sae_dir` when `sae` does not encode `model`: it
/// does not fit it (check_sae_fits_teacher: width, layer), or it records a
/// teacher hash that differs from `weights_sha256`, the hash of the model's
/// safetensors file ("" skips that check).
void check_sae_fits(const TopKSaeImpl& sae, const std::string& sae_dir, CocomixModelImpl& model,
                    const std::string& weights_sha256);

/// The Steering that edits the residual after sae's layer with `latents`
/// steered (validated against its n_latents, errors naming `flag`).
Steering sae_steering(TopKSae sae, const ConceptSteering& latents, const std::string& flag);

}  // namespace cocomix
