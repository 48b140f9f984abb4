// The compression-weight analysis of a concept head (paper §3.3, Fig. 6c):
// concept i enters the continuous concept vector c through row i of W_comp
// (`concept.compressor.weight` [C, d], the paper's column i), so the row's L2
// norm says how much the model uses that concept; rows near 0 are concepts the
// model learned to ignore.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace cocomix {

struct ConceptNorm {
  int64_t concept_id = 0;
  double norm = 0;  ///< ||W_comp[concept_id, :]||_2
};

struct CompressionWeightSummary {
  std::vector<double> norms;  ///< [C] by concept id
  double min = 0, median = 0, mean = 0, max = 0;
  std::vector<double> thresholds;      ///< as given
  std::vector<int64_t> below;          ///< per threshold: concepts whose norm is < it
  std::vector<ConceptNorm> strongest;  ///< by norm descending, ties to the smaller id
  std::vector<ConceptNorm> weakest;    ///< by norm ascending, ties to the smaller id
};

/// Row norms of `compressor_weight` [C, d] (in fp64) and their summary; the
/// median of an even count is the mean of the two middle norms; min(show, C)
/// strongest and weakest concepts.
CompressionWeightSummary summarize_compression_weights(const torch::Tensor& compressor_weight,
                                                       const std::vector<double>& thresholds, int64_t show);

}  // namespace cocomix
