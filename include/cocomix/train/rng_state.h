// Capture and restore LibTorch's random generators (dropout, init) as JSON, so
// that a resumed run draws exactly the numbers the uninterrupted run would have.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace cocomix {

/// {"cpu": "<hex of the default CPU generator state>", "cuda": [...per device]}.
nlohmann::json capture_rng_state();

/// Restores what capture_rng_state() returned; `source` names the file in errors.
void restore_rng_state(const nlohmann::json& state, const std::string& source);

}  // namespace cocomix
