// The GPT-2 language model (Radford et al. 2019), numerically the same as Hugging
// Face's GPT2LMHeadModel: learned positions, pre-LayerNorm blocks, causal SDPA,
// GELU(tanh) MLP, ln_f and an LM head tied to wte. named_parameters() is the HF
// state dict (same names, same shapes), and the forward can stop after any block
// and resume with any sequence (the seam the teacher, concepts and pause use).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "cocomix/config/config.h"

namespace cocomix {

/// The keys and values one attention layer has seen, for incremental decoding:
/// [B, nh, S_seen, hs] each, undefined before the first call.
struct AttentionCache {
  torch::Tensor k;
  torch::Tensor v;
  /// [B] int64: the first leading_padding[b] slots of row b are padding, which
  /// no query attends to (a padding query attends to itself only); undefined: none.
  torch::Tensor leading_padding;
  int64_t size() const { return k.defined() ? k.size(2) : 0; }
};
/// One AttentionCache per block (index = block).
using KVCache = std::vector<AttentionCache>;

/// HF's Conv1D: an affine map whose weight is stored [in, out] (the transpose of
/// torch::nn::Linear's [out, in]), so GPT-2 checkpoints load without transposes.
/// forward(x) = x @ weight + bias, computed with one addmm on the flattened rows.
class Conv1DImpl : public torch::nn::Module {
 public:
  /// weight [in_features, out_features] ~ N(0, init_std), bias [out_features] = 0.
  Conv1DImpl(int64_t in_features, int64_t out_features, double init_std);
  /// [..., in] -> [..., out].
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight;  ///< [in, out]
  torch::Tensor bias;    ///< [out]
};
TORCH_MODULE(Conv1D);

/// Multi-head causal self-attention: c_attn (d -> 3d: q, k, v), SDPA with the
/// causal mask, c_proj (d -> d), residual dropout.
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const ModelConfig& config);
  /// [B, S, d] -> [B, S, d]; position i attends to positions <= i. With a
  /// cache holding P earlier positions, x is positions P..P+S-1: their keys and
  /// values are appended and position P+i attends to 0..P+i.
  torch::Tensor forward(const torch::Tensor& x, AttentionCache* cache = nullptr);

  Conv1D c_attn{nullptr};  ///< weight [d, 3d], bias [3d]
  Conv1D c_proj{nullptr};  ///< weight [d, d], bias [d]; init std init_std/sqrt(2 n_layer)

 private:
  int64_t n_head_;
  double dropout_;
};
TORCH_MODULE(CausalSelfAttention);

/// The position-wise MLP: c_fc (d -> 4d), GELU(tanh), c_proj (4d -> d), dropout.
class MLPImpl : public torch::nn::Module {
 public:
  explicit MLPImpl(const ModelConfig& config);
  /// [B, S, d] -> [B, S, d].
  torch::Tensor forward(const torch::Tensor& x);

  Conv1D c_fc{nullptr};    ///< weight [d, 4d], bias [4d]
  Conv1D c_proj{nullptr};  ///< weight [4d, d], bias [d]; init std init_std/sqrt(2 n_layer)

 private:
  double dropout_;
};
TORCH_MODULE(MLP);

/// One pre-LayerNorm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)).
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& config);
  /// [B, S, d] -> [B, S, d]; `cache` as CausalSelfAttention's.
  torch::Tensor forward(torch::Tensor x, AttentionCache* cache = nullptr);

  torch::nn::LayerNorm ln_1{nullptr};
  CausalSelfAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(Block);

/// HF's GPT2Model: the embeddings, the blocks and the final LayerNorm (the
/// "transformer." prefix of every parameter name).
class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const ModelConfig& config);

  torch::nn::Embedding wte{nullptr};   ///< token embedding [V, d]; also the LM head
  torch::nn::Embedding wpe{nullptr};   ///< position embedding [n_positions, d]
  torch::nn::ModuleList h{nullptr};    ///< n_layer Blocks, named h.0 ... h.{n_layer-1}
  torch::nn::LayerNorm ln_f{nullptr};  ///< final LayerNorm before the head
};
TORCH_MODULE(Transformer);

/// GPT-2 with the LM head tied to transformer.wte (no lm_head parameter). Dropout
/// (ModelConfig::dropout, HF's embd/attn/resid_pdrop) is active in train() mode.
/// Init draws from torch's default generator: torch::manual_seed(s) before
/// construction makes it reproducible. Works in fp32, under CPU/CUDA bf16
/// autocast, and on CUDA after to(device).
class GPTImpl : public torch::nn::Module {
 public:
  /// Builds and initialises: Conv1D/embedding weights N(0, init_std), residual
  /// projections (attn.c_proj, mlp.c_proj) N(0, init_std/sqrt(2 n_layer)),
  /// biases 0, LayerNorm weight 1 and bias 0.
  explicit GPTImpl(const ModelConfig& config);

  /// Token + position embeddings, then dropout: [B, T] int64 -> [B, T, d], the
  /// tokens at positions start..start+T-1. Throws RuntimeError when start + T > n_positions.
  torch::Tensor embed(const torch::Tensor& idx, int64_t start = 0);
  /// The same with each token's own position: positions [B, T] int64 in [0, n_positions).
  torch::Tensor embed(const torch::Tensor& idx, const torch::Tensor& positions);
  /// Runs blocks [begin, end) on h [B, S, d] -> [B, S, d]. S is free (e.g. 2T with
  /// interleaved concepts may exceed n_positions). With `cache` (n_layer
  /// entries) each block attends to its cached positions too and appends h's.
  /// Throws UsageError when 0 <= begin <= end <= n_layer does not hold.
  torch::Tensor run_blocks(torch::Tensor h, int64_t begin, int64_t end, KVCache* cache = nullptr);
  /// ln_f: [B, S, d] -> [B, S, d], the final hidden states the LM head reads.
  torch::Tensor final_norm(const torch::Tensor& h);
  /// The LM head's weight [V, d]: the token embedding wte (tied).
  torch::Tensor unembedding() const;
  /// ln_f and the tied LM head: [B, S, d] -> logits [B, S, V].
  torch::Tensor head(const torch::Tensor& h);
  /// The whole model: [B, T] int64 -> logits [B, T, V].
  torch::Tensor forward(const torch::Tensor& idx);
  /// [B, T] -> [B, T, d]: 0 = the embeddings, k = the output of block k-1 (never
  /// ln_f; note HF's hidden_states[n_layer] does apply ln_f, ours does not).
  /// Throws UsageError unless 0 <= layer <= n_layer.
  torch::Tensor hidden_after(const torch::Tensor& idx, int64_t layer);
  /// The architecture this model was built from.
  const ModelConfig& config() const;
  /// Activation checkpointing (block_checkpoint.h) of every `every`-th block (blocks 0, every, 2·every, ...)
  /// whenever a graph is being built without a cache; 0 = none (the default), 1 = every block.
  void set_activation_checkpointing(int64_t every);

  Transformer transformer{nullptr};  ///< every parameter lives here ("transformer.*")

 private:
  ModelConfig config_;
  int64_t checkpoint_every_ = 0;
};
TORCH_MODULE(GPT);

}  // namespace cocomix
