// The memory one data-parallel rank needs to train a config, worked out from
// the config alone (no LibTorch, nothing built): the fp32 weights, gradients
// and AdamW moments of the student, the frozen teacher and SAE of the concept
// modes, and per micro-batch the tensors the autograd graph keeps for the
// backward pass plus the transients around them, for the model exactly as
// model/ builds it. cocomix-bench --plan prints it; docs/distributed.md has
// the paper configs' table.
//
// Notation: B = train.batch_size, T = data.seq_len, d = n_embd, nh = n_head,
// V = vocab_size, C = concept.n_concepts, k = concept.k_pred, L_s = concept.insert_layer;
// S = the sequence a block runs on (T, or 2T above an interleaving L_s);
// N = B·S rows; a = bytes of the compute dtype (2 under bf16 autocast, 4 in fp32).
// The residual stream is fp32 under autocast too (the embeddings are fp32 and
// each block adds its bf16 branch to it), so every block input is 4·N·d bytes.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cocomix/config/config.h"

namespace cocomix {

/// What sae.json records that sizes the SAE (concept/sae.h's SaeInfo without the hash).
struct SaeShape {
  int64_t d = 768;            ///< the teacher's width
  int64_t n_latents = 32768;  ///< C
  int64_t k = 32;             ///< latents TopK keeps
  int64_t layer = 6;          ///< L_t: it encodes the teacher's residual after block L_t
};

/// The frozen models a concept mode runs beside the student, as their files say
/// or assumed (concept/plan_shapes.h reads them).
struct FrozenShapes {
  ModelConfig teacher;  ///< ModelConfig's defaults are GPT-2 small (V 50257, 1024 positions, d 768, 12 layers)
  SaeShape sae;
  std::vector<std::string> notes;  ///< where each came from ("read from FILE" / "assumed: ...")
};

/// How the step runs, beside the config: what decides the dtypes and kernels.
struct MemoryPlanOptions {
  bool bf16 = true;           ///< train.precision as resolve_precision resolves it for train.device
  bool cpu_amx_bf16 = false;  ///< train.device "cpu" only: the CPU has AMX-BF16 (model/gpt.cpp's attention dtype)
  int64_t world_size = 1;     ///< data-parallel ranks: > 1 adds the gradient buckets (dist/gradient_reducer.h)
  double gpu_gib = 80;        ///< memory of one GPU in GiB (2^30 bytes)
};

/// The student's SDPA kernel, which decides what its attention keeps for backward.
enum class AttentionKernel {
  kCudaFused,  ///< CUDA: flash (bf16) or memory-efficient (fp32): q, k, v, output, log-sum-exp; no S×S matrix
  kCpuFlash,   ///< CPU with dropout 0 (or eval): ATen's CPU flash kernel, the same tensors
  kCpuMath,    ///< CPU with dropout > 0 in training: the math path, which keeps S×S attention probabilities
};

/// The kernel the student's attention runs on `cuda` or the CPU with attention dropout `dropout` in training.
AttentionKernel attention_kernel(bool cuda, double dropout);
/// One line naming the kernel and what it keeps.
std::string describe(AttentionKernel kernel);

/// The step's shape: everything a per-block formula reads.
struct BlockShape {
  int64_t B = 1;  ///< sequences
  int64_t S = 1;  ///< positions per sequence the block runs on
  int64_t d = 768;
  int64_t nh = 12;
  double dropout = 0;  ///< 0 in eval mode (the teacher)
  bool cuda = false;
  bool bf16 = false;  ///< under bf16 autocast
  bool cpu_amx_bf16 = false;
};

/// Bytes one transformer block keeps for backward when its weights train
/// (model/gpt.cpp's BlockImpl::forward under autograd), N = B·S:
///   ln_1 input 4Nd + mean, rstd 8N; c_attn input a·Nd (ln_1's fp32 output, or its bf16 cast);
///   attention (attention_bytes); c_proj input (the attention output: shared with
///   attention_bytes' output when the dtypes match and no head is padded, else a copy a·Nd);
///   residual dropout mask m·Nd; ln_2 input 4Nd + 8N; c_fc input a·Nd;
///   GELU input 4a·Nd; mlp.c_proj input (the GELU output) 4a·Nd; dropout mask m·Nd.
/// m (dropout_mask_bytes) = 0 without dropout, 1 on CUDA (native_dropout's bool
/// mask), a on the CPU (ATen's CPU dropout keeps its scaled noise tensor).
/// CUDA bf16 with dropout: 38·Nd + 16N + 4·B·nh·S (Korthikanti et al.'s 34·Nd
/// with the two fp32 residual inputs).
int64_t block_activation_bytes(const BlockShape& shape);

/// Bytes one frozen teacher block keeps for the attribution backward (concept/concept_labeler.cpp:
/// h requires grad, the weights do not, so no matmul keeps its input):
///   ln_1 input 4Nd + 8N, attention (attention_bytes), ln_2 input 4Nd + 8N, GELU input 4a·Nd.
int64_t frozen_block_activation_bytes(const BlockShape& shape);

/// What SDPA keeps for backward, N = B·S:
///   CUDA fused / CPU flash: the q, k, v storage (c_attn's output, 3a·Nd; on a CPU without
///   AMX under bf16 autocast model/gpt.cpp hands SDPA fp32 copies, 12·Nd), the output
///   (a·Nd, 4·Nd for those fp32 copies) and the fp32 log-sum-exp 4·B·nh·S; CUDA's
///   flash kernel pads a head size that is not a multiple of 8 (d/nh = 131 -> 136):
///   padded copies of q, k, v and a padded output, 4a·B·nh·S·hs_padded, and c_proj's
///   input is then a copy (a·Nd);
///   CPU math (dropout > 0): fp32 scaled q, scaled k and v (12·Nd) and three fp32
///   [B, nh, S, S] tensors (softmax, dropout noise, dropped probabilities): 12·B·nh·S².
int64_t attention_bytes(const BlockShape& shape);

/// Bytes a block's matmuls keep of bf16 weight copies under autocast: 12d² weights x 2 bytes.
/// (Autocast casts each fp32 weight once per forward and the matmul keeps the copy.)
int64_t block_weight_copy_bytes(int64_t d);

/// The parameters the student of `config` trains (CocomixModel): the GPT
/// (gpt_parameter_count with embeddings), plus, as the mode has them,
///   concept head: pre_bias d + predictor d·C + C + compressor C·d + d = 2dC + C + 2d;
///   hidden predictor: d·w + w + w·d_t + d_t + d_t·d + d (w = hidden_mlp_width or 4d);
///   pause vector: d.
int64_t student_parameter_count(const Config& config);

/// The SAE's parameters: pre_bias d + latent_bias C + encoder C·d + decoder d·C = 2Cd + C + d.
int64_t sae_parameter_count(const SaeShape& sae);

/// One named figure of the plan, in bytes.
using PlanPart = std::pair<std::string, int64_t>;

/// The plan for one rank. Every figure in bytes. total_bytes =
///   persistent_bytes + batch_bytes + max(step_peak_bytes, labeler_peak_bytes),
/// persistent_bytes = weights + gradients + adamw + ddp_buckets + teacher + sae:
/// the concept labels are made before the student's forward and their
/// transients are gone when it starts, so the two peaks never add up.
struct MemoryPlan {
  std::string mode;
  bool cuda = false;
  bool bf16 = false;
  AttentionKernel kernel = AttentionKernel::kCudaFused;
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  int64_t activation_checkpointing = 0;
  bool runs_teacher = false;    ///< a frozen teacher runs in the loop (labels, KD or hidden target)
  bool runs_sae = false;        ///< the online labeler's SAE runs in the loop
  bool concept_labels = false;  ///< the batch carries concept labels (concept loss)

  int64_t trainable_parameters = 0;
  int64_t weights_bytes = 0;     ///< 4 x trainable parameters (fp32 master weights)
  int64_t gradient_bytes = 0;    ///< 4 x trainable parameters (fp32 .grad)
  int64_t adamw_bytes = 0;       ///< 8 x trainable parameters: exp_avg + exp_avg_sq (train/fused_adamw.cpp)
  int64_t ddp_bucket_bytes = 0;  ///< 4 x trainable parameters when world_size > 1 (flat bucket buffers)
  int64_t teacher_parameters = 0;
  int64_t teacher_bytes = 0;  ///< fp32 always: teacher_precision bf16 is autocast, which casts per matmul
  int64_t sae_parameters = 0;
  int64_t sae_bytes = 0;  ///< fp32 SAE + the labeler's transposed decoder copy: 4·(3Cd + C + d)
  int64_t persistent_bytes = 0;

  int64_t batch_bytes = 0;       ///< inputs and targets [B, T] int64 (+ labels [B, T, K_attr] int64)
  int64_t activation_bytes = 0;  ///< what the graph keeps at the end of the forward (sum of activation_parts)
  std::vector<PlanPart> activation_parts;
  int64_t forward_transient_bytes = 0;   ///< the largest transient on top of the kept tensors during the forward
  int64_t backward_transient_bytes = 0;  ///< the same during the backward (gradients of activations, recomputation)
  int64_t step_peak_bytes = 0;           ///< activation_bytes + max(forward, backward transient)
  int64_t labeler_peak_bytes = 0;        ///< the teacher + SAE's transients of one micro-batch (0 without them)
  std::vector<PlanPart> labeler_parts;
  int64_t total_bytes = 0;

  int64_t gpu_bytes = 0;
  int64_t headroom_bytes = 0;  ///< kept free: see memory_plan.cpp (CUDA context, workspaces, fragmentation)
  int64_t usable_bytes = 0;    ///< gpu_bytes - headroom_bytes
  bool fits = false;           ///< total_bytes <= usable_bytes
  int64_t max_batch_size = 0;  ///< the largest train.batch_size whose plan fits (0: not even 1)
  /// The config's tokens per optimizer step (train.batch_size x data.seq_len x grad_accum_steps, as
  /// one process) on world_size ranks with a micro-batch that fits: the largest divisor b of the
  /// rank's sequences per step (batch_size x grad_accum_steps / world_size when that divides, else
  /// batch_size x grad_accum_steps) with b <= max_batch_size, and grad_accum_steps = sequences / b.
  int64_t world_size = 1;
  int64_t sequences_per_rank_step = 0;
  int64_t suggested_batch_size = 0;  ///< 0 when nothing fits
  int64_t suggested_grad_accum_steps = 0;
  std::vector<std::string> notes;  ///< the assumptions behind the figures, one sentence each
};

/// The plan of `config` as given (its train.batch_size), with the largest batch
/// size that fits options.gpu_gib. Throws UsageError naming the field for a
/// non-positive gpu_gib or world_size. Per micro-batch, N_T = B·T token positions,
/// S_top = the sequence of the last block, m = the dropout mask's bytes per element:
///   activation_parts:
///     embeddings: wpe's positions 8T + the embedding dropout's mask m·N_T·d (of the fp32 sum);
///     blocks: block_activation_bytes each; a checkpointed one (train.activation_checkpointing =
///       every: blocks 0, every, 2·every, ...) keeps only its input 4·B·S·d and the generator
///       state its dropout replays (CPU 5,056 bytes, CUDA 16);
///     concept head: the centred rows 4N_T·d, sigma and sigma + eps 8N_T, the predictor's input
///       a·N_T·d; when c is inserted also topk's indices 8N_T·k, embedding_bag's int64 offsets,
///       bag sizes and max indices 24N_T, its fp32 weights 4N_T·k and the rows denormalize
///       multiplies 4N_T·d;
///     hidden predictor: a·N_T·(d + 2w + d_t) and the loss's fp32 ĥ - h_t 4N_T·d_t (cosine 8N_T·d_t);
///     pause vector: 8T;
///     final norm + LM-head loss: ln_f's input 4·B·S_top·d + 8N_T and linear_cross_entropy's two
///       gradients 4N_T·d + 4Vd; KD instead: + the head's input a·N_T·d, log_softmax 4N_T·V and
///       the distillation gradient a·N_T·V;
///     concept loss: log_softmax of the concept logits 4N_T·C;
///     bf16 weight copies: 24d² per block that is not checkpointed, the predictor 2dC, the hidden
///       predictor 2(d·w + w·d_t + d_t·d), KD's wte 2Vd.
///   forward transient: the largest of the LM head's moment (ln_f's output 4N_T·d and
///     linear_cross_entropy's chunk, before the concept loss exists), the concept logits' fp32
///     copy 4N_T·C (bf16), a checkpointed block's forward, KD's teacher forward, logits and
///     distillation chunks; plus what StudentOutput holds until the loss (the concept logits
///     a·N_T·C and c 4N_T·d, or h_t and the compressed ĥ) and autocast's cache (checkpointed
///     blocks' weight copies, every bias: 18d per block).
///   backward transient: the larger of the concept loss's two fp32 gradients 8N_T·C (its nodes
///     run first) and the logits' gradient a·N_T·C held until topk's arrives plus the top
///     block's backward (block backward estimate, + its recomputation, activations and weight
///     copies, when it is checkpointed); KD: the logits' gradient 4N_T·V.
///   labeler_parts (concept/concept_labeler.cpp; N = B·T, N' = B·(T-1), teacher d, V, a):
///     the teacher below L_t without a graph: h 4Nd + one block's forward transient;
///     blocks from L_t with the graph to h: h + frozen_block_activation_bytes per block (+ 24d²
///       weight copies under bf16) + ln_f's input 4Nd, stats 8N', output 4N'd, the rows'
///       gradient 4N'd, the targets' copy 8N' and linear_cross_entropy's chunk;
///     the attribution backward: the same kept tensors + one block's backward;
///     the SAE encode: h and g 8Nd, the normalised rows and their shifted copy 8Nd + 8N, the
///       pre-activations a·N·C and + latent_bias in fp32 4N·C (bf16: + the casts 2Nd + 2Cd);
///       the dense selections also z_pre, z and the scores (12N·C + a·N·C).
MemoryPlan plan_memory(const Config& config, const FrozenShapes& frozen, const MemoryPlanOptions& options);

/// The plan as a table a person reads (GiB with two decimals, the parts indented).
std::string memory_plan_table(const MemoryPlan& plan);

/// The plan as one JSON object: every figure of MemoryPlan under its name, the
/// parts as arrays of {"part", "bytes"} in the table's order, "notes".
nlohmann::json memory_plan_json(const MemoryPlan& plan);

}  // namespace cocomix
