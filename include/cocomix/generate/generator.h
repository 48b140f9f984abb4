// Text generation from a student of any mode: the prompts through the model
// once (prefill), then one token per prompt and step with the attention caches
// (CocomixModel::forward with a DecodeState), or, without the cache, each
// prompt's whole sequence recomputed at every step (the reference the cache is
// held to). A batch of prompts decodes together, left-padded to the longest;
// each prompt's tokens are those it gets alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cocomix/generate/sampling.h"
#include "cocomix/model/cocomix_model.h"

namespace cocomix {

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  uint64_t seed = 0;         ///< seeds the draws (unused when greedy)
  int64_t end_of_text = -1;  ///< stop after generating this id; < 0 = never
  bool use_cache = true;     ///< false: recompute the whole sequence per token
  Steering steering;         ///< edits of every forward pass (none by default)
  bool explain = false;      ///< record the predicted concepts at every token read (needs a concept head)
};

/// Why a generation ended.
enum class StopReason {
  kEndOfText,     ///< the end-of-text id was generated (it is the last token)
  kMaxNewTokens,  ///< max_new_tokens generated
  kContext,       ///< the sequence holds model.n_positions + 1 tokens: the last one cannot be read
};
const char* name_of(StopReason reason);

/// The concepts the student's head kept at one token: ẑ's k_pred nonzero entries
/// in descending order, before steering.
struct PredictedConcepts {
  int64_t token = 0;            ///< the token whose hidden state predicted them
  std::vector<int64_t> ids;     ///< [k_pred]
  std::vector<double> values;   ///< [k_pred] their logits
};

struct Generation {
  std::vector<int64_t> tokens;  ///< the generated ids (not the prompt)
  StopReason stop = StopReason::kMaxNewTokens;
  /// With explain: one entry per token the model read, the prompt's then the
  /// generated ones but the last (which no forward pass reads).
  std::vector<PredictedConcepts> concepts;
};

/// Generates from each of `prompts` (ids < vocab_size, at least one, at most
/// n_positions) with `model` in eval mode, without autograd: with the cache as
/// one left-padded batch, without it one prompt after another. Each prompt
/// samples from its own generator, seeded with seeds[i] (default: options.seed
/// for every prompt), so its tokens do not depend on the other prompts. Throws
/// UsageError for an empty or too long prompt, bad options, or explain or
/// concept steering of a model without a concept head.
std::vector<Generation> generate_batch(CocomixModel& model, const std::vector<std::vector<int64_t>>& prompts,
                                       const GenerationOptions& options, const std::vector<uint64_t>& seeds = {});
/// One prompt: generate_batch of it alone.
Generation generate(CocomixModel& model, const std::vector<int64_t>& prompt, const GenerationOptions& options);

}  // namespace cocomix
