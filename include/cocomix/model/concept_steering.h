// Steering a TopK code (paper §3.2, "multiply ẑ of a desired concept element by
// constants"): the one rule both the student's concept head and a teacher's SAE
// (generate/sae_steering.h) apply to the values they keep.
//
// A steered concept that TopK kept has its value multiplied by its factor. A
// steered concept that TopK dropped has value 0, which no factor changes; it
// enters the code as an extra entry, at factor × the smallest value TopK kept at
// that position (the value it would have needed to be kept), while the k kept
// entries stay. So factor 0 removes a kept concept, factor 1 leaves a kept one
// as it is and brings a dropped one in at the edge of the kept set, and a
// negative factor pushes against the concept.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cocomix {

struct ConceptFactor {
  int64_t id = 0;  ///< the concept (latent) index
  double factor = 1.0;
};

/// The concepts to steer; empty = none.
struct ConceptSteering {
  std::vector<ConceptFactor> factors;

  bool empty() const { return factors.empty(); }
  /// Throws UsageError naming `flag` for an id outside [0, n_concepts), an id
  /// given twice, or a factor that is not finite or outside ±kMaxSteeringFactor.
  void validate(int64_t n_concepts, const std::string& flag) const;
};

/// The paper steers with factors in [-10, 10]; larger ones still work but
/// beyond this bound the code is dominated by one concept and the output is noise.
constexpr double kMaxSteeringFactor = 100.0;

/// "ID=FACTOR" -> {ID, FACTOR}; UsageError naming `flag` otherwise.
ConceptFactor parse_concept_factor(const std::string& text, const std::string& flag);

/// A TopK code: values [..., m] at indices [..., m] (int64), zero elsewhere.
struct SparseCode {
  torch::Tensor values;
  torch::Tensor indices;
};

/// The steered code of TopK's kept `values` and `indices` [..., k] (values in
/// descending order, as torch::topk returns them): [..., k + S] for S steered
/// concepts, the k kept entries first (steered ones scaled), then one entry per
/// steered concept, which is 0 where TopK kept that concept.
SparseCode steer(const torch::Tensor& values, const torch::Tensor& indices, const ConceptSteering& steering);

}  // namespace cocomix
