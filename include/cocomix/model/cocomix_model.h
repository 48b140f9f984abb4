// The student of every training mode (method spec §3-4): a GPT plus what its
// mode (config/mode.h) puts beside it, a concept head, a hidden predictor or a
// pause vector, and what it inserts at block L_s. NTP is this model with
// nothing beside the GPT.
//
// forward runs in four stages, each a public method; with a DecodeState the
// same stages decode incrementally, each block attending to its cached
// positions, and with a Steering they edit what they compute:
//   lower(inputs)         embeddings and blocks [0, L_s)                -> h [B, T, d]
//   predict(h)            the concept head / hidden predictor at L_s    -> StudentOutput parts
//   insert(h, out, pos)   interleave (2T), add, or nothing              -> the sequence entering L_s
//   upper(mixed)          blocks [L_s, n_layer), the next-token slots   -> slots [B, T, d]
//
// Parameters and checkpoint tensors carry the same names: the GPT's under
// Hugging Face names ("transformer.*"), the head's under "concept.*", the hidden
// predictor's under "hidden_prediction.*", the pause vector as "pause.vector".
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/concept_head.h"
#include "cocomix/model/concept_steering.h"
#include "cocomix/model/gpt.h"
#include "cocomix/model/hidden_predictor.h"

namespace cocomix {

/// One learned vector [d] interleaved after every token (pause tokens), with
/// its token's position embedding added or alone (concept.pause_position).
class PauseVectorImpl : public torch::nn::Module {
 public:
  /// vector ~ N(0, init_std).
  PauseVectorImpl(int64_t d, double init_std);
  torch::Tensor vector;  ///< [d]
};
TORCH_MODULE(PauseVector);

/// Incremental decoding: the attention caches of every block and the number of
/// tokens they hold (positions, not slots: an interleaved student caches two
/// slots per token above L_s). A batch of prompts of different lengths is
/// left-padded: row b's first padding[b] tokens are padding, which nothing
/// attends to, and its token at column t has position t - padding[b].
struct DecodeState {
  KVCache cache;
  int64_t tokens = 0;         ///< columns decoded, padding included
  torch::Tensor padding;      ///< [B] int64 leading padding tokens per row; undefined: none
};

/// Edits of a forward pass for generation-time steering; the default edits nothing.
struct Steering {
  /// The concept head's ẑ before compression (concept_steering.h); needs a concept head.
  ConceptSteering concepts;
  /// When set, replaces the residual stream after block `residual_layer`
  /// (1..n_layer, counted from 1 as an SAE's layer) with its result, on every
  /// slot of the sequence ([B, S, d] -> [B, S, d]).
  std::function<torch::Tensor(const torch::Tensor&)> edit_residual;
  int64_t residual_layer = 0;
};

/// What a student forward produces.
struct StudentOutput {
  torch::Tensor mixed;              ///< the sequence entering block L_s: [B, 2T, d] interleaved, else [B, T, d]
  torch::Tensor slots;              ///< [B, T, d] after the last block, before ln_f: position t predicts token t+1
  ConceptPrediction prediction;     ///< defined when the model has a concept head
  torch::Tensor predicted_hidden;   ///< [B, T, d_t] ĥ, defined when the model has a hidden predictor
  torch::Tensor compressed_hidden;  ///< [B, T, d] the compressed ĥ, interleaved like c
};

class CocomixModelImpl : public torch::nn::Module {
 public:
  /// Builds the student of `concepts.mode` and initialises it from torch's
  /// default generator in a fixed order: the GPT, the concept head, the hidden
  /// predictor, the pause vector.
  CocomixModelImpl(const ModelConfig& model, const ConceptConfig& concepts);

  /// The whole student on inputs [B, T] int64. With `state`, the inputs are the
  /// T tokens after the state.tokens already decoded: every block attends to
  /// its cached positions too and appends its own, and the state advances by T
  /// (n_positions bounds state.tokens + T: RuntimeError past it).
  /// `steering` is checked: UsageError for concept steering without a concept head
  /// or a residual layer outside 1..n_layer.
  StudentOutput forward(const torch::Tensor& inputs, DecodeState* state = nullptr, const Steering& steering = {});
  /// Embeddings and blocks [0, L_s): [B, T] -> h [B, T, d] (`state` as forward's, not advanced).
  /// Throws RuntimeError when the positions pass n_positions.
  torch::Tensor lower(const torch::Tensor& inputs, DecodeState* state = nullptr, const Steering& steering = {});
  /// The concept prediction or ĥ and its compression from h [B, T, d], into `out`.
  void predict(const torch::Tensor& h, StudentOutput& out, const Steering& steering = {});
  /// The sequence entering block L_s: h with out's vector interleaved or added, or h itself.
  /// `positions` ([T] or [B, T] int64) are h's token positions, which pause_position "token"
  /// adds to the pause slots (the positions lower() embedded).
  torch::Tensor insert(const torch::Tensor& h, const StudentOutput& out, const torch::Tensor& positions);
  /// Blocks [L_s, n_layer) on the mixed sequence, then the slots that predict the next token [B, T, d].
  torch::Tensor upper(const torch::Tensor& mixed, DecodeState* state = nullptr, const Steering& steering = {});

  /// ln_f of the slots [B, T, d]: what the LM head reads (eval scorers).
  torch::Tensor final_hidden(const torch::Tensor& inputs);
  /// An empty decoding state for this model (one cache per block), for rows
  /// with `padding` [B] int64 leading padding tokens (undefined: none). With
  /// padding, positions are clamped to n_positions - 1 instead of checked: the
  /// caller stops each row at its own context.
  DecodeState begin_decoding(const torch::Tensor& padding = {}) const;
  /// The LM head's weight [V, d] (tied to wte).
  torch::Tensor unembedding() const { return gpt_->unembedding(); }
  /// linear(final_hidden(inputs), unembedding()): [B, T, V].
  torch::Tensor logits(const torch::Tensor& inputs);

  /// Detached tensors sharing storage, under the checkpoint names.
  TensorMap state_dict();
  /// Strict: every parameter present with its shape, nothing else (the GPT part
  /// as load_gpt_state_dict accepts it). `source` names the file in errors.
  void load_state_dict(const TensorMap& tensors, const std::string& source);

  /// Dropout on or off in every part (the GPT's own flag included).
  void train(bool on = true) override;

  const ModeSpec& spec() const { return *spec_; }
  int64_t insert_layer() const { return insert_layer_; }
  GPT& gpt() { return gpt_; }
  ConceptHead& concept_head() { return head_; }            ///< null without one
  HiddenPredictor& hidden_predictor() { return hidden_; }  ///< null without one
  PauseVector& pause_vector() { return pause_; }           ///< null without one

 private:
  /// The positions of `inputs`' tokens: [T] from state.tokens on, or [B, T] shifted by each row's
  /// padding and clamped to n_positions - 1 (DecodeState).
  torch::Tensor token_positions(const torch::Tensor& inputs, const DecodeState* state) const;
  /// Blocks [begin, end), with steering's residual edit where it falls inside them.
  torch::Tensor run_blocks(torch::Tensor h, int64_t begin, int64_t end, DecodeState* state, const Steering& steering);

  const ModeSpec* spec_;
  int64_t insert_layer_;  ///< L_s; 0 for a plain GPT
  PausePosition pause_position_;
  GPT gpt_;
  ConceptHead head_{nullptr};
  HiddenPredictor hidden_{nullptr};
  PauseVector pause_{nullptr};
};
TORCH_MODULE(CocomixModel);

/// The parts beside the GPT as submodules: their parameters, and so their
/// checkpoint tensors, are named MODULE.NAME.
constexpr const char* kConceptModule = "concept";
constexpr const char* kHiddenPredictionModule = "hidden_prediction";
constexpr const char* kPauseModule = "pause";
inline const std::string kConceptPrefix = std::string(kConceptModule) + ".";
inline const std::string kHiddenPredictionPrefix = std::string(kHiddenPredictionModule) + ".";
inline const std::string kPauseVectorName = std::string(kPauseModule) + ".vector";

}  // namespace cocomix
