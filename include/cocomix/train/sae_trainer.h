// `cocomix-sae train`: the TopK SAE of concept/sae.h (method spec §1, Gao et al.
// 2024) trained on a frozen teacher's residual stream after block L, computed
// window by window from a token file (activations are never stored), with
// metrics, validation and atomic checkpoints that resume exactly. The loss terms
// are in concept/sae_losses.h, one step in train/sae_step.h.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace cocomix {

/// Everything `cocomix-sae train` takes. Defaults follow Gao et al. / OpenAI's
/// train.py where they transfer to small runs.
struct SaeTrainOptions {
  std::string teacher;             ///< Hugging Face GPT-2 dir or cocomix checkpoint / run dir
  int64_t layer = 0;               ///< L: activations after block L (in [1, teacher n_layer])
  int64_t latents = 0;             ///< C
  int64_t k = 0;                   ///< k_sae, in [1, C]
  std::string data;                ///< training corpus: a token file, a directory ("train" split) or a glob
  std::string val;                 ///< validation corpus ("" = none; a directory: its "val" split)
  std::string format = "auto";     ///< token file layout: "auto", "llmc", "u16"
  int64_t steps = 1000;            ///< optimizer steps
  int64_t batch = 32;              ///< windows per step (N = batch * seq_len tokens)
  int64_t seq_len = 64;            ///< T; Gao et al. use a context of 64 tokens
  double lr = 1e-4;                ///< Adam learning rate (OpenAI's train.py: 1e-4 for C = 32768), constant
  double adam_eps = 6.25e-10;      ///< OpenAI's train.py; betas (0.9, 0.999), no weight decay
  int64_t k_aux = 0;               ///< AuxK latents per token; 0 = min(d / 2, C)
  double aux_coef = 1.0 / 32;      ///< alpha of the AuxK term (Gao et al.)
  int64_t dead_tokens = 10000000;  ///< a latent is dead after this many tokens without firing (Gao et al.: 10M)
  uint64_t seed = 1337;            ///< SAE init and window order
  int64_t threads = 0;             ///< intra-op threads; 0 = every core
  std::string out_dir;             ///< OUT: sae.json, sae.safetensors, metrics.jsonl, checkpoints/
  bool resume = false;             ///< continue from the newest complete checkpoint in OUT/checkpoints
  int64_t log_every = 10;          ///< steps between metrics records and progress lines
  int64_t checkpoint_every = 200;  ///< steps between checkpoints (also at the end and on SIGINT/SIGTERM)
  int64_t keep_checkpoints = 2;    ///< newest complete checkpoints kept
  int64_t eval_every = 0;          ///< steps between validation passes on `val`; 0 = at the end only
  int64_t val_windows = 64;        ///< validation windows per pass (0 = the whole file)

  /// Throws UsageError naming the flag for impossible values (k > C, sizes < 1, ...).
  void validate() const;
  /// The options as JSON (OUT/checkpoints/*/config.json).
  nlohmann::json to_json() const;
};

/// How a run ended.
struct SaeTrainSummary {
  int64_t steps = 0;         ///< steps completed (this run and any it resumed)
  bool interrupted = false;  ///< stopped by SIGINT/SIGTERM (checkpoint saved, no SAE files)
  double last_fvu = 0;       ///< training FVU of the last step
  double val_fvu = -1;       ///< of the last validation pass; < 0 without --val
};

/// Runs the whole training: checks every input before any work (UsageError for
/// bad flags, a layer out of range, an out dir holding checkpoints without
/// --resume; RuntimeError for unreadable teacher, data or checkpoint files),
/// then trains, logging and checkpointing, and finally writes OUT/sae.json and
/// OUT/sae.safetensors (save_sae; teacher_sha256 = sha256 of the teacher's
/// weights file). The layout of OUT is in docs/file-formats.md.
SaeTrainSummary train_sae(const SaeTrainOptions& options);

}  // namespace cocomix
