// sae.json, the SAE's description beside its weights: its sizes, the teacher
// layer it encodes, the teacher's digest and the digest of sae.safetensors
// (docs/file-formats.md). No LibTorch here.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace cocomix {

/// What sae.json records next to the weights.
struct SaeInfo {
  int64_t d = 0;               ///< width of the activations it encodes (the teacher's n_embd)
  int64_t n_latents = 0;       ///< C
  int64_t k = 0;               ///< k_sae: latents kept by TopK
  int64_t layer = 0;           ///< L_t: it encodes the teacher's output of block L_t - 1 (HF hidden_states[L_t])
  std::string teacher_sha256;  ///< sha256 of the teacher's model.safetensors ("" = unrecorded)
};

/// The fields of a parsed sae.json `document` read from `path`. Throws RuntimeError
/// "PATH: FIELD: ..." for a field that is missing, of the wrong type, not positive,
/// or a k above n_latents.
SaeInfo sae_info_of(const nlohmann::json& document, const std::string& path);

/// Why the SAE described by `info` does not encode the model whose weights hash to
/// `weights_sha256` ("teacher_sha256 R is not the sha256 of WHOSE weights (A): the SAE
/// encodes another model"), or "" when it records that hash or none.
std::string teacher_mismatch(const SaeInfo& info, const std::string& weights_sha256, const std::string& whose);

/// Reads the sae.json at `path` (sae_info_of of its document).
SaeInfo read_sae_info(const std::string& path);

/// Checks the file `weights_path` against the "sha256" the sae.json `document` (read from
/// `info_path`) records: RuntimeError naming the weights when they differ, one warning when
/// it records none (an SAE written by another tool).
void verify_sae_weights(const nlohmann::json& document, const std::string& info_path, const std::string& weights_path);

}  // namespace cocomix
