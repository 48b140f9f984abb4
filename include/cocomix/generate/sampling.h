// Choosing the next token from the model's logits: greedy, or a draw from the
// softmax at a temperature restricted to the top-k tokens and to the smallest
// set whose probability reaches top-p (the nucleus), as Hugging Face's
// TopKLogitsWarper and TopPLogitsWarper do, in that order.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>

namespace cocomix {

struct SamplingOptions {
  bool greedy = true;        ///< argmax (the first maximum); the fields below are then unused
  double temperature = 1.0;  ///< > 0: logits / temperature
  int64_t top_k = 0;         ///< keep the k largest logits; 0 = all
  double top_p = 1.0;        ///< in (0, 1]: keep the smallest set of tokens whose probability reaches p

  /// Throws UsageError naming the flag for a value out of range.
  void validate() const;
};

/// The probabilities sampling draws from: softmax(logits / temperature) over
/// the tokens top-k and top-p keep (the others 0), fp32 [V]. logits [V].
torch::Tensor sampling_distribution(const torch::Tensor& logits, const SamplingOptions& options);

/// The next token for logits [V]: argmax when greedy, else one draw from
/// sampling_distribution with `generator` (reproducible for a seeded one).
int64_t next_token(const torch::Tensor& logits, const SamplingOptions& options, at::Generator& generator);

}  // namespace cocomix
