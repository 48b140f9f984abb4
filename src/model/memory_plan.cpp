// The memory plan's arithmetic (formulas in memory_plan.h): what each module
// of the student, the teacher and the SAE keeps for backward, the transients
// around them, and the largest batch that fits.
#include "cocomix/model/memory_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cocomix/model/flops.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Kept free on every GPU, beyond the tensors: a fixed 2 GiB for the CUDA
// context and loaded kernels (~0.5-1 GiB on an H100 with lazy module loading),
// the cuBLAS/cuBLASLt workspaces and NCCL's communicator buffers (a few hundred
// MiB for 8 ranks); plus 10% of the GPU for the caching allocator's
// fragmentation (blocks split and cached per size class, typically 5-10% of
// what it reserves in a training loop with varying transient sizes).
constexpr double kFixedHeadroomGiB = 2.0;
constexpr double kFragmentationShare = 0.10;

// linear_cross_entropy's chunk (model/cross_entropy.h's kLinearCrossEntropyChunkLogits) and
// distillation_loss's (objective/distillation.h's default), in logits.
constexpr int64_t kCrossEntropyChunkLogits = int64_t{1} << 25;
constexpr int64_t kDistillationChunkLogits = int64_t{1} << 22;

// What a checkpointed block saves of the default generator for its dropout replay
// (model/block_checkpoint.cpp): ATen's CPU generator state (its mt19937 words and
// normal-sampling cache) as a byte tensor, or CUDA's Philox seed and offset.
constexpr int64_t kCpuGeneratorStateBytes = 5056;
constexpr int64_t kCudaGeneratorStateBytes = 16;

int64_t compute_bytes(bool bf16) { return bf16 ? 2 : 4; }

/// Bytes per element a dropout keeps of an input of `input_bytes` per element.
int64_t dropout_mask_bytes(const BlockShape& s, int64_t input_bytes) {
  if (s.dropout <= 0) return 0;
  return s.cuda ? 1 : input_bytes;  // CUDA: native_dropout's bool mask; CPU: the scaled noise, in the input's dtype
}

/// model/gpt.cpp's causal_attention hands SDPA fp32 copies of q, k, v on a CPU
/// without AMX under bf16 autocast.
bool fp32_attention_copies(const BlockShape& s) { return !s.cuda && s.bf16 && !s.cpu_amx_bf16; }

/// CUDA's flash kernel takes head sizes that are multiples of 8: SDPA pads q, k, v
/// (and so the output) to the next one (ATen's pad_last_dim<8>), e.g. 131 -> 136
/// for d 2096 over 16 heads. 0 when nothing is padded.
int64_t padded_head_size(const BlockShape& s) {
  const int64_t head = s.d / s.nh;
  return s.cuda && s.bf16 && head % 8 != 0 ? (head + 7) / 8 * 8 : 0;
}

/// The bytes of the c_proj input beyond what attention_bytes counts: the
/// attention output is the c_proj input when their dtypes match (fused and flash
/// kernels); the math path's output and the sliced output of padded heads are
/// copied by the [B, S, d] reshape, and the fp32 output of the CPU copies is cast
/// to bf16 by autocast.
int64_t attention_projection_input_bytes(const BlockShape& s) {
  const int64_t N = s.B * s.S, a = compute_bytes(s.bf16);
  const bool separate = attention_kernel(s.cuda, s.dropout) == AttentionKernel::kCpuMath || fp32_attention_copies(s) ||
                        padded_head_size(s) > 0;
  return separate ? a * N * s.d : 0;
}

/// The largest transient of one block's forward without a graph (a checkpointed
/// block, or the teacher below L_t), N = B·S: the MLP side holds the block input,
/// the attention residual sum and ln_2's output (12Nd), c_fc's output and the GELU
/// output (8a·Nd), and on a CPU under bf16 the GELU kernel's fp32 copies (32Nd);
/// the attention side the input, ln_1's output (8Nd), q, k, v (3a·Nd) and the
/// output (a·Nd; with the CPU's fp32 copies 16Nd), and on the math path its
/// scaled fp32 q, k, v (12Nd) and three fp32 [B, nh, S, S] (scores or softmax,
/// dropout noise, dropped probabilities: 12·B·nh·S²).
int64_t block_forward_transient_bytes(const BlockShape& s) {
  const int64_t N = s.B * s.S, d = s.d, a = compute_bytes(s.bf16);
  const int64_t mlp = 12 * N * d + 8 * a * N * d + (!s.cuda && s.bf16 ? 32 * N * d : 0);
  int64_t attention = 8 * N * d + 3 * a * N * d + (fp32_attention_copies(s) ? 16 * N * d : a * N * d);
  if (attention_kernel(s.cuda, s.dropout) == AttentionKernel::kCpuMath)
    attention += 12 * N * d + 12 * s.B * s.nh * s.S * s.S;
  return std::max(mlp, attention);
}

/// What one block's backward holds above the kept tensors at its worst moment (an
/// estimate; each gradient mostly replaces a kept tensor that is freed once its node
/// has run), N = B·S: the residual stream's gradient (4Nd) plus the largest of
///   the GELU input's gradient while its kept input still lives (4a·Nd; on a CPU
///   under bf16 the fused kernel's fp32 gradient, input and result, 48Nd in all);
///   attention: dq, dk, dv while q, k, v live (3a·Nd, 12Nd for the CPU's fp32 copies)
///   and an fp32 accumulator (4Nd), or on the math path one fp32 [B, nh, S, S] gradient;
///   with `with_weights`, c_fc's weight gradient in the compute dtype and in fp32 (4d²·(a + 4)).
int64_t block_backward_transient_bytes(const BlockShape& s, bool with_weights) {
  const int64_t N = s.B * s.S, d = s.d, a = compute_bytes(s.bf16);
  const int64_t mlp = !s.cuda && s.bf16 ? 48 * N * d : 4 * a * N * d;
  int64_t attention = 0;
  if (attention_kernel(s.cuda, s.dropout) == AttentionKernel::kCpuMath)
    attention = 4 * s.B * s.nh * s.S * s.S;
  else
    attention = (fp32_attention_copies(s) ? 12 : 3 * a) * N * d + 4 * N * d;
  const int64_t weights = with_weights ? 4 * d * d * (a + 4) : 0;
  return 4 * N * d + std::max({mlp, attention, weights});
}

/// linear_cross_entropy's largest transient over `rows` rows of width d (model/cross_entropy.cpp):
/// one chunk of n = min(rows, 2^25 / V) rows: fp32 logits and their log-softmax (8nV); under
/// bf16 the bf16 logits, their fp32 copy and the log-softmax (10nV), or the fp32 log-probabilities,
/// their bf16 copy and the [V, d] bf16 weight-gradient product (6nV + 2Vd) when the weight trains;
/// under bf16 also the bf16 copies of the hidden rows (2·rows·d) and of the weight (2Vd).
int64_t cross_entropy_transient_bytes(int64_t rows, int64_t d, int64_t V, bool bf16, bool weight_grad) {
  const int64_t n = std::min(rows, std::max<int64_t>(1, kCrossEntropyChunkLogits / V));
  if (!bf16) return 8 * n * V;
  const int64_t chunk = std::max(10 * n * V, weight_grad ? 6 * n * V + 2 * V * d : 0);
  return chunk + 2 * rows * d + 2 * V * d;
}

int64_t sum_of(const std::vector<PlanPart>& parts) {
  int64_t total = 0;
  for (const auto& part : parts) total += part.second;
  return total;
}

std::string block_range(int64_t begin, int64_t end) {
  return end - begin == 1 ? "block " + std::to_string(begin)
                          : "blocks " + std::to_string(begin) + "-" + std::to_string(end - 1);
}

/// The labeler's phases for one micro-batch (concept/concept_labeler.cpp), N = B·T, N' = B·(T-1):
/// the teacher below L_t without a graph, its blocks from L_t on with the graph of the
/// attribution backward, that backward, and the SAE encode.
std::vector<PlanPart> labeler_phases(const Config& config, const FrozenShapes& frozen, const MemoryPlanOptions& o,
                                     int64_t B) {
  const auto& k = config.concepts;
  const ModelConfig& t = frozen.teacher;
  const bool bf16 = k.teacher_precision == "bf16";
  const int64_t T = config.data.seq_len, N = B * T, Nm = B * (T - 1), d = t.n_embd, V = t.vocab_size;
  const int64_t a = compute_bytes(bf16), C = frozen.sae.n_latents;
  const int64_t L_t = std::min(frozen.sae.layer, t.n_layer);
  BlockShape shape{B, T, d, t.n_head, 0.0, config.train.device == "cuda", bf16, o.cpu_amx_bf16};
  const int64_t h = 4 * N * d;  // the teacher's residual after block L_t, kept until the labels are made
  std::vector<PlanPart> phases;
  phases.emplace_back("teacher blocks 0-" + std::to_string(L_t - 1) + " (no graph)",
                      h + block_forward_transient_bytes(shape));
  const int64_t upper_blocks = t.n_layer - L_t;
  // Block L_t's input is h itself; every later block keeps its own input.
  const int64_t upper =
      upper_blocks * (frozen_block_activation_bytes(shape) + (bf16 ? block_weight_copy_bytes(d) : 0)) -
      (upper_blocks > 0 ? h : 0);
  const int64_t last_output = upper_blocks > 0 ? 4 * N * d : 0;  // ln_f keeps it (its [B, T-1] view's storage)
  // ln_f's stats, its output and the rows' gradient, the targets' contiguous copy (int64), the chunks.
  const int64_t head = last_output + 8 * Nm + 4 * Nm * d + 4 * Nm * d + 8 * Nm +
                       cross_entropy_transient_bytes(Nm, d, V, bf16, /*weight_grad=*/false);
  phases.emplace_back(
      "teacher blocks " + std::to_string(L_t) + "-" + std::to_string(t.n_layer - 1) + " + LM-head loss (graph to h)",
      h + upper + head);
  phases.emplace_back("attribution backward to h",
                      h + upper + last_output + 4 * Nm * d + block_backward_transient_bytes(shape, false));
  // encode_kept: the normalised rows and their shifted copy (8Nd), mu and sigma (8N), the bf16
  // casts of those rows and of the encoder (2Nd + 2Cd), the pre-activations a·NC and + latent_bias,
  // fp32 (4NC).
  int64_t encode = 8 * N * d + 8 * N + a * N * C + 4 * N * C + (bf16 ? 2 * N * d + 2 * C * d : 0);
  // The dense selections keep z_pre and z (4NC each), and score all C: W_dec·g and the product (a·NC + 4NC).
  if (k.selection != LabelSelection::kAttribution) encode += 12 * N * C + a * N * C;
  phases.emplace_back("SAE encode + scores", 2 * h + encode);
  return phases;
}

struct Figures {
  int64_t activation_bytes = 0;
  std::vector<PlanPart> activation_parts;
  int64_t forward_transient = 0;
  int64_t backward_transient = 0;
  int64_t labeler_peak = 0;
  std::vector<PlanPart> labeler_parts;
  int64_t batch_bytes = 0;
};

/// Everything that depends on the batch size B.
Figures micro_batch_figures(const Config& config, const FrozenShapes& frozen, const MemoryPlanOptions& o, int64_t B) {
  const ModelConfig& m = config.model;
  const auto& k = config.concepts;
  const ModeSpec& mode = k.spec();
  const bool cuda = config.train.device == "cuda", bf16 = o.bf16;
  const int64_t T = config.data.seq_len, d = m.n_embd, V = m.vocab_size, a = compute_bytes(bf16);
  const int64_t NT = B * T;  // token positions
  const int64_t L_s = mode.plain_gpt() ? 0 : k.insert_layer;
  const int64_t every = config.train.activation_checkpointing;
  const bool labels_from_cache = !k.label_cache.empty();
  const int64_t C = k.n_concepts;
  Figures f;
  f.batch_bytes = 2 * 8 * NT + (mode.concept_loss ? 8 * NT * k.k_attr : 0);

  auto& parts = f.activation_parts;
  const BlockShape embed_shape{B, T, d, m.n_head, m.dropout, cuda, bf16, o.cpu_amx_bf16};
  // wpe keeps its positions [T] int64; the embedding dropout its mask of the fp32 sum.
  parts.emplace_back("embeddings", 8 * T + dropout_mask_bytes(embed_shape, 4) * NT * d);

  int64_t weight_copies = 0;
  // Autocast's cache keeps the bf16 copy of every weight and bias it casts until the forward ends:
  // beyond the weight copies the graph keeps, those of checkpointed blocks and every bias.
  int64_t cached_copies = 0;
  int64_t top_block_backward = 0;  // the backward transient of the topmost block (recomputed when checkpointed)
  const auto add_blocks = [&](int64_t begin, int64_t end, int64_t S, const std::string& label) {
    if (begin >= end) return;
    const BlockShape shape{B, S, d, m.n_head, m.dropout, cuda, bf16, o.cpu_amx_bf16};
    int64_t bytes = 0;
    for (int64_t layer = begin; layer < end; ++layer) {
      const bool checkpointed = every > 0 && layer % every == 0;
      // A checkpointed block keeps its input and the generator state its dropout replays.
      bytes += checkpointed ? 4 * B * S * d + (cuda ? kCudaGeneratorStateBytes : kCpuGeneratorStateBytes)
                            : block_activation_bytes(shape);
      if (bf16) (checkpointed ? cached_copies : weight_copies) += block_weight_copy_bytes(d);
      if (bf16) cached_copies += 2 * 9 * d;  // the biases: c_attn 3d, attn.c_proj d, c_fc 4d, mlp.c_proj d
    }
    parts.emplace_back(label + " (S = " + std::to_string(S) + ")", bytes);
    const bool top_checkpointed = every > 0 && (end - 1) % every == 0;
    top_block_backward =
        block_backward_transient_bytes(shape, true) +
        (top_checkpointed ? block_activation_bytes(shape) + (bf16 ? block_weight_copy_bytes(d) : 0) : 0);
  };
  add_blocks(0, L_s, T, block_range(0, L_s));

  // At L_s: the concept head, the hidden predictor or the pause vector (model/cocomix_model.cpp).
  // StudentOutput holds what they make until the loss is made: held through the forward.
  int64_t head_parts = 0, held = 0;
  if (mode.concept_head) {
    const int64_t kp = k.k_pred;
    // normalize_positions: the centred rows (std and the division keep them), sigma and sigma + eps;
    // the predictor's input (x - pre_bias, or its bf16 cast).
    head_parts = 4 * NT * d + 8 * NT + a * NT * d;
    // The compression, when c enters the stream (else no loss reaches it and its graph is dropped):
    // topk's indices, embedding_bag's offsets, bag sizes and max indices (int64) and its fp32
    // per-sample weights; the compressed rows times sigma (denormalize).
    const int64_t compression = 8 * NT * kp + 3 * 8 * NT + 4 * NT * kp + 4 * NT * d;
    (mode.vector == InsertedVector::kConcepts ? head_parts : held) += compression;
    parts.emplace_back("concept head", head_parts);
    held += a * NT * C + 4 * NT * d;       // the concept logits [N, C] and c [N, d]
    if (bf16) weight_copies += 2 * d * C;  // the predictor's weight [d, C]
    if (bf16) cached_copies += 2 * C;      // its bias
  }
  if (mode.hidden_target) {
    const int64_t w = k.hidden_width(d), dt = k.teacher_n_embd;
    // c_fc's input, GELU's input and output (c_proj's input), the compressor's input ĥ.
    head_parts = a * NT * d + 2 * a * NT * w + a * NT * dt;
    // The loss keeps ĥ - h_t in fp32 (l1, l2), or both fp32 sides (cosine).
    head_parts += (k.hidden_loss == HiddenLoss::kCosine ? 8 : 4) * NT * dt;
    parts.emplace_back("hidden predictor + its loss", head_parts);
    if (bf16) weight_copies += 2 * (d * w + w * dt + dt * d);
    if (bf16) cached_copies += 2 * (w + dt + d);
    held += 4 * NT * dt + a * NT * d;  // the teacher's target h_t [N, d_t] fp32 and the compressed ĥ [N, d]
  }
  if (mode.pause_vector()) parts.emplace_back("pause vector", 8 * T);  // wpe's positions

  const int64_t S_top = mode.interleaved() ? 2 * T : T;
  add_blocks(L_s, m.n_layer, S_top,
             block_range(L_s, m.n_layer) + (mode.interleaved() ? " on the interleaved sequence" : ""));

  // The LM head: ln_f keeps its input (the last block's output, [B, S_top, d] storage) and stats.
  const int64_t final_norm = 4 * B * S_top * d + 8 * NT;
  int64_t concept_loss = 0;
  if (mode.kd) {
    // linear(ln_f(h), wte) keeps its input (or the bf16 cast) and the bf16 wte copy; the
    // fp32 cross-entropy keeps log_softmax [N, V] fp32; the distillation its gradient [N, V] in a.
    parts.emplace_back("final norm + LM head + CE + KD", final_norm + a * NT * d + 4 * NT * V + a * NT * V);
    if (bf16) weight_copies += 2 * V * d;
  } else {
    // linear_cross_entropy keeps the two gradients it made in the forward: the rows' [N, d]
    // (fp32: ln_f's output dtype) and the tied weight's [V, d] fp32.
    parts.emplace_back("final norm + LM-head loss", final_norm + 4 * NT * d + 4 * V * d);
  }
  if (mode.concept_loss) {
    concept_loss = 4 * NT * C;  // log_softmax of the concept logits, fp32
    parts.emplace_back("concept loss", concept_loss);
  }
  if (bf16) parts.emplace_back("bf16 weight copies (autocast)", weight_copies);
  f.activation_bytes = sum_of(parts);

  // Forward: moments above the kept tensors, on top of what StudentOutput holds and of
  // autocast's cache, both alive until the loss is made.
  std::vector<int64_t> forward = {0};
  if (every > 0) {  // a checkpointed block's forward without a graph
    const BlockShape top{B, S_top, d, m.n_head, m.dropout, cuda, bf16, o.cpu_amx_bf16};
    forward.push_back(block_forward_transient_bytes(top));
  }
  if (mode.kd) {
    // The teacher's forward without a graph (its block transient, then ln_f's output and its
    // logits [N, V] in its dtype), the student's logits [N, V] and their fp32 copy for the
    // cross-entropy, then the distillation's fp32 chunks (five [n, V]: both log-softmaxes, the
    // teacher's probabilities, their difference and its product).
    const ModelConfig& t = frozen.teacher;
    const bool teacher_bf16 = k.teacher_precision == "bf16";
    const int64_t dt = t.n_embd, teacher_logits = compute_bytes(teacher_bf16) * NT * V;
    const BlockShape teacher_shape{B, T, dt, t.n_head, 0.0, cuda, teacher_bf16, o.cpu_amx_bf16};
    const int64_t n = std::min(NT, std::max<int64_t>(1, kDistillationChunkLogits / V));
    forward.push_back(4 * NT * dt + block_forward_transient_bytes(teacher_shape));
    forward.push_back(teacher_logits + 4 * NT * dt + (teacher_bf16 ? 2 * NT * dt + 2 * V * dt : 0));
    forward.push_back(teacher_logits + a * NT * V + (bf16 ? 4 * NT * V : 0));
    forward.push_back(teacher_logits + a * NT * V + 20 * n * V);
  } else {
    // linear_cross_entropy: ln_f's output and the chunk's logits (before the concept loss exists).
    forward.push_back(4 * NT * d - concept_loss + cross_entropy_transient_bytes(NT, d, V, bf16, /*weight_grad=*/true));
  }
  if (mode.concept_loss) forward.push_back(bf16 ? 4 * NT * C : 0);  // the logits' fp32 copy
  f.forward_transient = *std::max_element(forward.begin(), forward.end()) + held + cached_copies;

  // Backward: the concept loss runs first (its nodes are the newest): the gradients of the
  // gather and of log_softmax, fp32 [N, C] each; the logits' gradient (a·NC) then waits for
  // topk's until the blocks above L_s are done.
  const int64_t held_grad = mode.concept_loss ? a * NT * C : 0;
  std::vector<int64_t> backward = {held_grad + top_block_backward};
  if (mode.concept_loss) backward.push_back(8 * NT * C);
  if (mode.kd) backward.push_back(4 * NT * V);  // the fp32 logits' gradient of the cross-entropy
  f.backward_transient = *std::max_element(backward.begin(), backward.end());

  // The teacher and SAE of one micro-batch, before the student's forward.
  if (mode.needs_sae(labels_from_cache)) {
    f.labeler_parts = labeler_phases(config, frozen, o, B);
    for (const auto& phase : f.labeler_parts) f.labeler_peak = std::max(f.labeler_peak, phase.second);
  } else if (mode.hidden_target) {
    const ModelConfig& t = frozen.teacher;
    const BlockShape teacher_shape{B, T, t.n_embd, t.n_head, 0.0, cuda, k.teacher_precision == "bf16", o.cpu_amx_bf16};
    f.labeler_parts.emplace_back("teacher blocks below L_t (no graph)",
                                 4 * NT * t.n_embd + block_forward_transient_bytes(teacher_shape));
    f.labeler_peak = f.labeler_parts.back().second;
  }
  return f;
}

/// How the teacher's and SAE's sizes, the kernel and the transients were decided.
std::vector<std::string> plan_notes(const Config& config, const FrozenShapes& frozen, bool runs_teacher, bool runs_sae,
                                    AttentionKernel kernel) {
  std::vector<std::string> notes;
  notes.push_back("attention: " + describe(kernel));
  if (runs_teacher || runs_sae)
    for (const auto& note : frozen.notes) notes.push_back(note);
  if (runs_teacher)
    notes.push_back("teacher weights fp32: concept.teacher_precision \"" + config.concepts.teacher_precision +
                    "\" sets the teacher's compute dtype (bf16 = autocast), not its storage");
  if (!config.concepts.label_cache.empty())
    notes.push_back("labels from concept.label_cache: no teacher or SAE in the loop");
  notes.push_back(
      "activations: the tensors the autograd graph keeps at the end of one micro-batch's forward; the "
      "transients (LM-head chunks, gradients of activations, recomputed blocks) are estimates of the largest "
      "moment above them");
  return notes;
}

std::string gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(bytes) / kGiB);
  return text;
}

std::string thousands(int64_t value) {
  std::string digits = std::to_string(value), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

AttentionKernel attention_kernel(bool cuda, double dropout) {
  if (cuda) return AttentionKernel::kCudaFused;
  return dropout > 0 ? AttentionKernel::kCpuMath : AttentionKernel::kCpuFlash;
}

std::string describe(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::kCudaFused:
      return "CUDA SDPA, flash (bf16) or memory-efficient (fp32): keeps q, k, v, the output and the "
             "log-sum-exp, no T x T matrix";
    case AttentionKernel::kCpuFlash:
      return "CPU SDPA flash kernel (dropout 0): keeps q, k, v, the output and the log-sum-exp, no T x T matrix";
    case AttentionKernel::kCpuMath:
      return "CPU SDPA math path (dropout > 0): keeps fp32 scaled q, k, v and three fp32 [B, nh, S, S] "
             "matrices (softmax, dropout noise, dropped probabilities)";
  }
  return "?";
}

int64_t attention_bytes(const BlockShape& s) {
  const int64_t N = s.B * s.S, d = s.d, a = compute_bytes(s.bf16);
  if (attention_kernel(s.cuda, s.dropout) == AttentionKernel::kCpuMath) return 12 * N * d + 12 * s.B * s.nh * s.S * s.S;
  const int64_t log_sum_exp = 4 * s.B * s.nh * s.S;
  if (fp32_attention_copies(s)) return 12 * N * d + 4 * N * d + log_sum_exp;
  if (const int64_t padded = padded_head_size(s)) return 4 * a * s.B * s.nh * s.S * padded + log_sum_exp;
  return 3 * a * N * d + a * N * d + log_sum_exp;
}

int64_t block_activation_bytes(const BlockShape& s) {
  const int64_t N = s.B * s.S, d = s.d, a = compute_bytes(s.bf16);
  const int64_t mask = dropout_mask_bytes(s, a);  // both residual dropouts act on a c_proj output (dtype a)
  const int64_t layer_norms = 2 * (4 * N * d + 8 * N);
  const int64_t attention_side = a * N * d + attention_bytes(s) + attention_projection_input_bytes(s) + mask * N * d;
  const int64_t mlp_side = a * N * d + 4 * a * N * d + 4 * a * N * d + mask * N * d;
  return layer_norms + attention_side + mlp_side;
}

int64_t frozen_block_activation_bytes(const BlockShape& s) {
  const int64_t N = s.B * s.S, d = s.d, a = compute_bytes(s.bf16);
  return 2 * (4 * N * d + 8 * N) + attention_bytes(s) + 4 * a * N * d;
}

int64_t block_weight_copy_bytes(int64_t d) { return 2 * 12 * d * d; }

int64_t student_parameter_count(const Config& config) {
  const ModeSpec& mode = config.concepts.spec();
  const int64_t d = config.model.n_embd, C = config.concepts.n_concepts;
  int64_t count = gpt_parameter_count(config.model, /*include_embeddings=*/true);
  if (mode.concept_head) count += 2 * d * C + C + 2 * d;
  if (mode.hidden_target) {
    const int64_t w = config.concepts.hidden_width(d), dt = config.concepts.teacher_n_embd;
    count += d * w + w + w * dt + dt + dt * d + d;
  }
  if (mode.pause_vector()) count += d;
  return count;
}

int64_t sae_parameter_count(const SaeShape& sae) { return 2 * sae.n_latents * sae.d + sae.n_latents + sae.d; }

MemoryPlan plan_memory(const Config& config, const FrozenShapes& frozen, const MemoryPlanOptions& options) {
  if (!(options.gpu_gib > 0) || !std::isfinite(options.gpu_gib))
    throw UsageError("--gpu-memory: must be a positive number of GiB, got " + std::to_string(options.gpu_gib));
  if (options.world_size < 1) throw UsageError("--world-size: must be >= 1, got " + std::to_string(options.world_size));
  const auto& k = config.concepts;
  const ModeSpec& mode = k.spec();
  const bool labels_from_cache = !k.label_cache.empty();
  MemoryPlan plan;
  plan.mode = mode.name;
  plan.cuda = config.train.device == "cuda";
  plan.bf16 = options.bf16;
  plan.kernel = attention_kernel(plan.cuda, config.model.dropout);
  plan.batch_size = config.train.batch_size;
  plan.seq_len = config.data.seq_len;
  plan.activation_checkpointing = config.train.activation_checkpointing;
  plan.runs_teacher = mode.needs_teacher(labels_from_cache);
  plan.runs_sae = mode.needs_sae(labels_from_cache);
  plan.concept_labels = mode.concept_loss;

  plan.trainable_parameters = student_parameter_count(config);
  plan.weights_bytes = 4 * plan.trainable_parameters;
  plan.gradient_bytes = 4 * plan.trainable_parameters;
  plan.adamw_bytes = 8 * plan.trainable_parameters;
  plan.ddp_bucket_bytes = options.world_size > 1 ? 4 * plan.trainable_parameters : 0;
  if (plan.runs_teacher) {
    plan.teacher_parameters = gpt_parameter_count(frozen.teacher, /*include_embeddings=*/true);
    plan.teacher_bytes = 4 * plan.teacher_parameters;
  }
  if (plan.runs_sae) {
    plan.sae_parameters = sae_parameter_count(frozen.sae);
    // + the labeler's transposed decoder copy [C, d] for the attribution gathers.
    plan.sae_bytes = 4 * (plan.sae_parameters + frozen.sae.n_latents * frozen.sae.d);
  }
  plan.persistent_bytes = plan.weights_bytes + plan.gradient_bytes + plan.adamw_bytes + plan.ddp_bucket_bytes +
                          plan.teacher_bytes + plan.sae_bytes;

  plan.gpu_bytes = static_cast<int64_t>(options.gpu_gib * kGiB);
  plan.headroom_bytes = static_cast<int64_t>((kFixedHeadroomGiB + kFragmentationShare * options.gpu_gib) * kGiB);
  plan.usable_bytes = plan.gpu_bytes - plan.headroom_bytes;

  const auto total_at = [&](int64_t batch, Figures* out) {
    Figures f = micro_batch_figures(config, frozen, options, batch);
    const int64_t step_peak = f.activation_bytes + std::max(f.forward_transient, f.backward_transient);
    const int64_t total = plan.persistent_bytes + f.batch_bytes + std::max(step_peak, f.labeler_peak);
    if (out != nullptr) *out = std::move(f);
    return total;
  };
  Figures f;
  plan.total_bytes = total_at(plan.batch_size, &f);
  plan.batch_bytes = f.batch_bytes;
  plan.activation_bytes = f.activation_bytes;
  plan.activation_parts = std::move(f.activation_parts);
  plan.forward_transient_bytes = f.forward_transient;
  plan.backward_transient_bytes = f.backward_transient;
  plan.step_peak_bytes = f.activation_bytes + std::max(f.forward_transient, f.backward_transient);
  plan.labeler_peak_bytes = f.labeler_peak;
  plan.labeler_parts = std::move(f.labeler_parts);
  plan.fits = plan.total_bytes <= plan.usable_bytes;

  // The largest batch that fits: every figure grows with the batch, so double, then bisect.
  const auto fits = [&](int64_t batch) { return total_at(batch, nullptr) <= plan.usable_bytes; };
  constexpr int64_t kLargestBatch = int64_t{1} << 24;
  if (fits(1)) {
    int64_t low = 1, high = 2;
    while (high <= kLargestBatch && fits(high)) {
      low = high;
      high *= 2;
    }
    while (high - low > 1) {  // fits(low), !fits(high)
      const int64_t middle = low + (high - low) / 2;
      (fits(middle) ? low : high) = middle;
    }
    plan.max_batch_size = low;
  }
  plan.world_size = options.world_size;
  const int64_t sequences = config.train.batch_size * config.train.grad_accum_steps;
  plan.sequences_per_rank_step = sequences % options.world_size == 0 ? sequences / options.world_size : sequences;
  for (int64_t b = std::min(plan.max_batch_size, plan.sequences_per_rank_step); b >= 1; --b) {
    if (plan.sequences_per_rank_step % b != 0) continue;
    plan.suggested_batch_size = b;
    plan.suggested_grad_accum_steps = plan.sequences_per_rank_step / b;
    break;
  }
  plan.notes = plan_notes(config, frozen, plan.runs_teacher, plan.runs_sae, plan.kernel);
  return plan;
}

std::string memory_plan_table(const MemoryPlan& plan) {
  std::ostringstream out;
  const auto row = [&](const std::string& label, int64_t bytes, int indent) {
    char line[160];
    std::snprintf(line, sizeof line, "%*s%-*s %9s\n", indent, "", 66 - indent, label.c_str(), gib(bytes).c_str());
    out << line;
  };
  out << "mode " << plan.mode << ", " << (plan.cuda ? "cuda" : "cpu") << ", " << (plan.bf16 ? "bf16 autocast" : "fp32")
      << ", micro-batch " << plan.batch_size << " x " << plan.seq_len << " tokens, activation checkpointing "
      << (plan.activation_checkpointing == 0 ? std::string("off")
                                             : "every " + std::to_string(plan.activation_checkpointing) + " block(s)")
      << '\n';
  out << std::string(68, ' ') << "      GiB\n";
  row("student weights (fp32, " + thousands(plan.trainable_parameters) + " parameters)", plan.weights_bytes, 2);
  row("gradients (fp32)", plan.gradient_bytes, 2);
  row("AdamW exp_avg + exp_avg_sq (fp32)", plan.adamw_bytes, 2);
  if (plan.ddp_bucket_bytes > 0) row("data-parallel gradient buckets (fp32)", plan.ddp_bucket_bytes, 2);
  if (plan.runs_teacher)
    row("teacher weights (fp32, " + thousands(plan.teacher_parameters) + " parameters)", plan.teacher_bytes, 2);
  if (plan.runs_sae)
    row("SAE weights + decoder copy (fp32, " + thousands(plan.sae_parameters) + " parameters)", plan.sae_bytes, 2);
  row("persistent", plan.persistent_bytes, 2);
  row(plan.concept_labels ? "batch (inputs, targets, concept labels)" : "batch (inputs, targets)", plan.batch_bytes, 2);
  row("activations kept for backward", plan.activation_bytes, 2);
  for (const auto& [label, bytes] : plan.activation_parts) row(label, bytes, 4);
  row("forward transient above them", plan.forward_transient_bytes, 2);
  row("backward transient above them", plan.backward_transient_bytes, 2);
  row("student step peak", plan.step_peak_bytes, 2);
  if (!plan.labeler_parts.empty()) {
    row("teacher + SAE peak (before the student's forward)", plan.labeler_peak_bytes, 2);
    for (const auto& [label, bytes] : plan.labeler_parts) row(label, bytes, 4);
  }
  row("total = persistent + batch + max(step peak, teacher + SAE peak)", plan.total_bytes, 2);
  out << "GPU " << gib(plan.gpu_bytes) << " GiB, headroom " << gib(plan.headroom_bytes) << " GiB (" << kFixedHeadroomGiB
      << " GiB CUDA context, workspaces, NCCL + " << kFragmentationShare * 100 << "% fragmentation), usable "
      << gib(plan.usable_bytes) << " GiB: " << (plan.fits ? "fits" : "does NOT fit") << '\n';
  out << "largest train.batch_size that fits: " << plan.max_batch_size << '\n';
  if (plan.suggested_batch_size > 0)
    out << "the config's " << thousands(plan.sequences_per_rank_step * plan.seq_len * plan.world_size)
        << " tokens per optimizer step on " << plan.world_size << " rank(s): train.batch_size "
        << plan.suggested_batch_size << ", train.grad_accum_steps " << plan.suggested_grad_accum_steps << '\n';
  for (const auto& note : plan.notes) out << "note: " << note << '\n';
  return out.str();
}

nlohmann::json memory_plan_json(const MemoryPlan& plan) {
  const auto parts = [](const std::vector<PlanPart>& list) {
    nlohmann::json array = nlohmann::json::array();  // in the order of the table
    for (const auto& [label, bytes] : list) array.push_back({{"part", label}, {"bytes", bytes}});
    return array;
  };
  return {{"mode", plan.mode},
          {"device", plan.cuda ? "cuda" : "cpu"},
          {"precision", plan.bf16 ? "bf16" : "fp32"},
          {"attention", describe(plan.kernel)},
          {"batch_size", plan.batch_size},
          {"seq_len", plan.seq_len},
          {"activation_checkpointing", plan.activation_checkpointing},
          {"trainable_parameters", plan.trainable_parameters},
          {"weights_bytes", plan.weights_bytes},
          {"gradient_bytes", plan.gradient_bytes},
          {"adamw_bytes", plan.adamw_bytes},
          {"ddp_bucket_bytes", plan.ddp_bucket_bytes},
          {"teacher_parameters", plan.teacher_parameters},
          {"teacher_bytes", plan.teacher_bytes},
          {"sae_parameters", plan.sae_parameters},
          {"sae_bytes", plan.sae_bytes},
          {"persistent_bytes", plan.persistent_bytes},
          {"batch_bytes", plan.batch_bytes},
          {"activation_bytes", plan.activation_bytes},
          {"activation_parts", parts(plan.activation_parts)},
          {"forward_transient_bytes", plan.forward_transient_bytes},
          {"backward_transient_bytes", plan.backward_transient_bytes},
          {"step_peak_bytes", plan.step_peak_bytes},
          {"labeler_peak_bytes", plan.labeler_peak_bytes},
          {"labeler_parts", parts(plan.labeler_parts)},
          {"total_bytes", plan.total_bytes},
          {"gpu_bytes", plan.gpu_bytes},
          {"headroom_bytes", plan.headroom_bytes},
          {"usable_bytes", plan.usable_bytes},
          {"fits", plan.fits},
          {"max_batch_size", plan.max_batch_size},
          {"world_size", plan.world_size},
          {"sequences_per_rank_step", plan.sequences_per_rank_step},
          {"suggested_batch_size", plan.suggested_batch_size},
          {"suggested_grad_accum_steps", plan.suggested_grad_accum_steps},
          {"notes", plan.notes}};
}

}  // namespace cocomix
