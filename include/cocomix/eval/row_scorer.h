// Scores single positions of a language model without its full [B, T, V]
// logits: the scorers (task log-likelihoods, validation perplexity) take the
// final normalised hidden states of the positions they need and the tied
// unembedding, and compute logits and the fp32 log-softmax in row chunks into
// buffers that are reused, so nothing of size T x V is allocated per batch.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>

#include "cocomix/model/cocomix_model.h"

namespace cocomix {

/// A language model as the scorers see it: logits = hidden(inputs) · unembeddingᵀ.
struct ScoringModel {
  /// Inputs [B, T] int64 -> final hidden states after ln_f [B, T, d]; position t predicts token t+1.
  std::function<torch::Tensor(const torch::Tensor&)> hidden;
  torch::Tensor unembedding;  ///< [V, d], the LM head (tied to the token embedding)
};

/// The scoring view of a student of any mode (final_hidden / unembedding).
ScoringModel scoring_model(CocomixModel model);

struct RowScorerOptions {
  /// Round the logits to bf16 as the LM head under bf16 autocast does (a bf16 matmul of the hidden
  /// states and the weight, both rounded to bf16); the log-softmax is fp32 either way.
  bool bf16 = false;
  /// Also report whether each target is the argmax of its row.
  bool greedy = false;
  int64_t chunk_rows = 32;  ///< rows whose logits are held at once ([chunk_rows, V] fp32 buffers)
};

/// Per-row scores of hidden [N, d] against targets [N]: logprob[i] =
/// log_softmax(logits[i])[targets[i]] with logits[i] = hidden[i] · unembeddingᵀ,
/// the same fp32 log-softmax (torch's kernel) that lm-evaluation-harness applies
/// to the logits. greedy[i] = torch.argmax(log_softmax(logits[i])) == targets[i]
/// (argmax picks the first maximum; compared on the log-softmax values as the
/// harness does, where rounding can tie values the logits keep apart).
struct RowScores {
  torch::Tensor logprob;  ///< [N] float32
  torch::Tensor greedy;   ///< [N] bool; defined when RowScorerOptions::greedy
};

class RowScorer {
 public:
  /// unembedding [V, d] (fp32 weights; copied once, transposed, and cast to bf16 when options.bf16).
  RowScorer(const torch::Tensor& unembedding, const RowScorerOptions& options);
  /// hidden [N, d] any floating dtype, targets [N] int64 in [0, V), both on the unembedding's device.
  RowScores score(const torch::Tensor& hidden, const torch::Tensor& targets);

 private:
  torch::Tensor weight_t_;        ///< [d, V] contiguous, in the matmul's dtype
  torch::Tensor logits_;          ///< [chunk_rows, V] in the matmul's dtype
  torch::Tensor logits_fp32_;     ///< [chunk_rows, V] fp32 (bf16 only: the logits widened)
  torch::Tensor log_softmax_;     ///< [chunk_rows, V] fp32
  RowScorerOptions options_;
};

}  // namespace cocomix
