// How well a TopK SAE reconstructs a teacher's activations on a token file, and
// the loading of an SAE with the teacher it encodes (shared by every reader of both).
#pragma once

#include <cstdint>
#include <string>

#include "cocomix/concept/sae.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// How well an SAE reconstructs a teacher's activations on a token file.
struct SaeEvaluation {
  double nmse = 0;           ///< pooled E(x_hat, x) in the normalised space
  double fvu = 0;            ///< pooled E(h_hat, h) in the teacher's space
  double dead_fraction = 0;  ///< share of latents that never fired (z > kLatentFiredThreshold) on these tokens
  int64_t windows = 0;
  int64_t tokens = 0;
};

/// An SAE and the frozen teacher whose residual stream it encodes.
struct SaeWithTeacher {
  TopKSae sae{nullptr};
  GPT teacher{nullptr};
};

/// Throws UsageError "WHERE: ..." when the SAE does not fit the teacher: its width
/// d differs from n_embd or its layer is beyond n_layer. `where` names the SAE.
void check_sae_fits_teacher(const SaeInfo& info, const ModelConfig& teacher, const std::string& where);

/// Loads --sae SAE_DIR and --teacher TEACHER_DIR for windows of `seq_len` tokens.
/// Throws UsageError naming the flag when SAE_DIR holds no sae.json, the SAE does
/// not fit the teacher or seq_len exceeds its n_positions; warns when sae.json's
/// teacher_sha256 is not the hash of the teacher's weights (another teacher).
SaeWithTeacher load_sae_with_teacher(const std::string& sae_dir, const std::string& teacher_dir, int64_t seq_len);

/// Encodes the teacher's activations after block sae.info().layer on the
/// validation windows of `file` (non-overlapping, from 0; at most `max_windows`,
/// 0 = all; `batch` windows per forward) and pools the errors over every token
/// (NormalizedErrorSums). Throws UsageError when the SAE does not fit the teacher
/// (d != n_embd, layer > n_layer) and RuntimeError for a bad token file.
SaeEvaluation evaluate_sae(GPTImpl& teacher, TopKSaeImpl& sae, const TokenCorpus& corpus, int64_t seq_len, int64_t batch,
                           int64_t max_windows);

}  // namespace cocomix
