// The resolved configuration of a run: one struct per JSON section, every field
// documented where it is declared. Loading rejects unknown keys, wrong types and
// impossible values with "FILE: section.key: reason" before any work starts.
// No LibTorch here: this header is cheap to include anywhere.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cocomix/config/mode.h"

namespace cocomix {

/// How the concept labels rank the SAE's latents (concept.selection).
enum class LabelSelection {
  kAttribution,     ///< "attribution": (g · W_dec) ⊙ z, post-TopK latents (released code)
  kAttributionPre,  ///< "attribution_pre": (g · W_dec) ⊙ z_pre, pre-activation (paper Eq. 1)
  kActivation,      ///< "activation": z itself (the paper's ablation)
};

/// D(ĥ, h_t) of the hidden-state prediction loss (concept.hidden_loss).
enum class HiddenLoss {
  kL1,      ///< "l1": mean |ĥ - h_t| over B·T·d_t
  kL2,      ///< "l2": mean (ĥ - h_t)² over B·T·d_t
  kCosine,  ///< "cosine": mean over B·T positions of 1 - cos(ĥ, h_t) along d_t
};

/// The position a pause slot is given (concept.pause_position). A pause token
/// of Goyal et al. is a token of the sequence, embedded with a position like
/// any other; the slot after token t here sits at layer L_s, beside h_t.
enum class PausePosition {
  kToken,  ///< "token": the pause vector + wpe[t], token t's own position embedding
  kNone,   ///< "none": the pause vector alone, the same at every slot
};

/// The config names of the enumerations above and of Mode (ModeSpec::name).
const char* name_of(LabelSelection selection);
const char* name_of(HiddenLoss loss);
const char* name_of(PausePosition position);
const char* name_of(Mode mode);

/// GPT-2 architecture (Hugging Face GPT2Config names where one exists).
struct ModelConfig {
  int64_t vocab_size = 50257;        ///< token ids are in [0, vocab_size)
  int64_t n_positions = 1024;        ///< learned position embeddings = longest context T
  int64_t n_embd = 768;              ///< width d
  int64_t n_layer = 12;              ///< number of transformer blocks
  int64_t n_head = 12;               ///< attention heads; must divide n_embd
  double dropout = 0.1;              ///< embedding, attention and residual dropout (HF default 0.1)
  double layer_norm_epsilon = 1e-5;  ///< eps of every LayerNorm
  double init_std = 0.02;            ///< N(0, init_std) init; residual projections use init_std/sqrt(2*n_layer)
};

/// Token data: flat token files (llm.c shards or headerless uint16).
/// One source of a training mixture (data.train_sources).
struct TrainSource {
  std::string path;   ///< a token file, a cocomix-tokenize directory (its "train" split) or a glob
  double weight = 1;  ///< expected share of training windows: weight / sum of the weights
  std::string name;   ///< label in logs and metrics ("share/NAME"); "" = the path's file name
};

struct DataConfig {
  std::string train_path;           ///< training corpus: a token file, a cocomix-tokenize directory
                                    ///< (its "train" split) or a glob; or use train_sources
  std::vector<TrainSource> train_sources;  ///< a weighted mixture instead of train_path
  std::string val_path;             ///< validation corpus ("" = no validation); a directory means its
                                    ///< "val" split
  std::string format = "auto";      ///< "auto" (llm.c header if present, else raw uint16), "llmc", "u16"
  int64_t seq_len = 1024;           ///< context T of a training window; <= model.n_positions
  std::string sampling = "random";  ///< "random": shuffled windows at a random epoch offset; "fixed": the
                                    ///< windows 0, T, 2T, ... of each shard shuffled per epoch (a label
                                    ///< cache's layout); "sequential": those windows in order

  /// train_sources, or train_path as one source of weight 1; names filled in.
  std::vector<TrainSource> sources() const;
};

/// AdamW and the learning-rate schedule.
struct OptimConfig {
  double lr = 6e-4;          ///< peak learning rate after warmup
  double min_lr = 6e-5;      ///< learning rate at the end of the cosine decay
  int64_t warmup_steps = 0;  ///< linear warmup from 0 over this many optimizer steps
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_all_params = true;  ///< true: decay every parameter (released code); false: matrices only
  double grad_clip = 1.0;        ///< global L2 norm clip; 0 disables
};

/// The training loop.
struct TrainConfig {
  int64_t batch_size = 8;           ///< sequences per micro-step (per rank)
  int64_t grad_accum_steps = 1;     ///< micro-steps per optimizer step (loss scaled by 1/grad_accum_steps)
  int64_t max_steps = 1000;         ///< optimizer steps of the whole run (the schedule's length)
  uint64_t seed = 1337;             ///< seeds the init, dropout and the window sampler
  std::string device = "cpu";       ///< "cpu" or "cuda"
  std::string precision = "auto";   ///< "bf16" (autocast, fp32 master weights), "fp32", or "auto": bf16 on
                                    ///< CUDA and on CPUs with AMX-BF16, else fp32 (faster there)
  bool tf32 = true;                 ///< TF32 tensor-core math for the student's fp32 matmuls on CUDA (all of
                                    ///< them with precision fp32; those autocast leaves in fp32 with bf16);
                                    ///< CPU matmuls are fp32 either way
  int64_t threads = 0;              ///< intra-op threads; 0 = every core
  int64_t checkpoint_every = 500;   ///< steps between checkpoints; 0 = only at the end and on signals
  int64_t keep_checkpoints = 3;     ///< newest complete checkpoints kept on disk
  int64_t max_nonfinite_steps = 5;  ///< stop after this many non-finite steps in a row (each is skipped)
  int64_t activation_checkpointing = 0;  ///< recompute blocks in the backward pass instead of keeping their
                                         ///< activations: 0 = none, 1 = every block, N = every N-th block
};

/// Periodic validation during training.
struct EvalConfig {
  int64_t every = 250;       ///< steps between validation passes; 0 = only at the end
  int64_t max_batches = 20;  ///< validation batches per pass; 0 = the whole file
  int64_t batch_size = 8;    ///< sequences per validation batch
};

/// Console, metrics.jsonl and TensorBoard output.
struct LogConfig {
  int64_t every = 10;       ///< steps between progress lines / metric records
  bool tensorboard = true;  ///< also write TensorBoard event files under OUT/tensorboard
  double peak_flops = 0;    ///< FLOP/s for MFU; 0 = measure a matmul at start (precision-matched)
};

/// Data parallelism on PyTorch's c10d (docs/distributed.md). Read only when a
/// launcher (torchrun, srun) starts more than one process; one process ignores it.
struct DistConfig {
  std::string backend = "auto";    ///< "auto" (nccl with train.device cuda, else gloo), "gloo" (CPU) or "nccl" (CUDA)
  int64_t timeout_seconds = 1800;  ///< longest wait for the rendezvous, a peer or a collective before every rank
                                   ///< fails naming the rank that stopped (PyTorch's default: 30 minutes)
  double bucket_mb = 25;           ///< gradient bucket size in MiB (PyTorch DDP's bucket_cap_mb)
  double first_bucket_mb = 1;      ///< the first bucket (the last layers' gradients, ready first) is small so
                                   ///< communication starts early in the backward pass (DDP's first bucket)
};

/// The training objective (method spec §2-4). `mode` selects a row of the mode
/// table (config/mode.h): what is inserted at L_s, which loss terms there are and
/// so what the run loads. ntp ignores every other field (with a warning if set).
/// hidden_prediction: a 2-layer MLP predicts the teacher's raw residual h_t after
/// block teacher_layer (detached) from the student's h entering L_s; ĥ is
/// compressed by Linear(d_t -> d) and interleaved like c, so the NTP loss also
/// trains the MLP through ĥ (parameters "hidden_prediction.*").
struct ConceptConfig {
  Mode mode = Mode::kNtp;
  std::string teacher_path;                ///< teacher GPT: a Hugging Face GPT-2 directory or a cocomix checkpoint/run
  std::string sae_path;                    ///< the teacher's SAE directory (sae.json + sae.safetensors); gives L_t
                                           ///< (not in hidden_prediction: an error there)
  int64_t n_concepts = 32768;              ///< C: must equal the SAE's n_latents (kept here so eval needs no SAE)
  int64_t insert_layer = 3;                ///< L_s: the insertion acts on the input of block L_s, in [0, n_layer)
  int64_t k_pred = 32;                     ///< predicted concepts kept (TopK) before compression
  int64_t k_attr = 4;                      ///< K_attr: concept labels per position
  double weight = 0.1;                     ///< λ: loss = NTP + λ · concept (hidden_prediction: NTP + λ · D)
  LabelSelection selection = LabelSelection::kAttribution;
  std::string teacher_precision = "tf32";  ///< the teacher and SAE: "fp32", "tf32" (fp32 with TF32 matmuls on
                                           ///< CUDA, fp32 on CPU) or "bf16" (autocast)
  std::string label_cache;                 ///< concept labels precomputed by `cocomix-sae label` ("" = run the
                                           ///< teacher in the loop); needs data.sampling "fixed" (docs/label-cache.md)
  double kd_weight = 0.5;                  ///< α of the KD modes (the paper gives no value)
  double kd_temperature = 1.0;             ///< τ of the KD modes
  int64_t teacher_layer = 0;               ///< hidden_prediction's L_t: the target is the teacher's residual after
                                           ///< this block, in [1, teacher n_layer] (HF hidden_states[L_t], without
                                           ///< ln_f at n_layer); required there, an error in the other modes
                                           ///< (they take L_t from the SAE)
  int64_t teacher_n_embd = 0;              ///< hidden_prediction: d_t, must equal the teacher's n_embd (kept here
                                           ///< so eval needs no teacher); required there
  int64_t hidden_mlp_width = 0;            ///< hidden_prediction: the MLP's hidden width (d -> width -> d_t, GELU
                                           ///< erf); 0 = 4·model.n_embd, like GPT-2's own MLP
  HiddenLoss hidden_loss = HiddenLoss::kL2;  ///< hidden_prediction's D
  PausePosition pause_position = PausePosition::kToken;  ///< pause modes: what the slot after token t holds

  const ModeSpec& spec() const { return mode_spec(mode); }  ///< the mode's row of the mode table
  int64_t hidden_width(int64_t n_embd) const;  ///< hidden_mlp_width, or 4·n_embd when it is 0
};

/// Everything a run needs, as resolved from the file plus --set overrides.
struct Config {
  ModelConfig model;
  DataConfig data;
  OptimConfig optim;
  TrainConfig train;
  EvalConfig eval;
  LogConfig log;
  ConceptConfig concepts;  ///< JSON section "concept" (`concept` is a C++20 keyword)
  DistConfig dist;         ///< data parallelism (torchrun / srun launches)
  std::string source;      ///< file the config came from (for error messages)

  /// Checks cross-field constraints; throws UsageError naming source and key.
  void validate() const;
};

/// Parses a JSON document (already read) into a Config; `source` names it in errors.
Config config_from_json(const nlohmann::json& document, const std::string& source);

/// Reads FILE, applies `overrides` ("section.key=value"; value is JSON, or a bare
/// string), parses and validates. Throws UsageError on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// The resolved config as JSON (every field, defaults included).
nlohmann::json config_to_json(const Config& config);

/// Pretty-printed JSON of the resolved config.
std::string config_to_string(const Config& config);

/// Applies one "section.key=value" override to a JSON document.
void apply_override(nlohmann::json& document, const std::string& assignment, const std::string& source);

}  // namespace cocomix
