// What `cocomix-inspect weights` reports about a checkpoint's concept head
// (paper §3.3, Fig. 6c): the W_comp row norms of model/compression_weights.h,
// optionally beside the SAE latents' explanations (concept/latent_explanations.h),
// as a table for a person, a JSON document with every number, and a histogram.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cocomix/concept/latent_explanations.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/compression_weights.h"
#include "cocomix/util/rgb_image.h"

namespace cocomix {

struct CompressionWeightReport {
  std::string checkpoint_dir;
  std::string mode;  ///< concept.mode
  int64_t n_concepts = 0;
  int64_t d = 0;  ///< the student's width
  CompressionWeightSummary summary;
  std::optional<LatentExplanations> explanations;  ///< what each concept is, when given
};

/// The report of `loaded`'s concept head. UsageError when the checkpoint's mode
/// has no concept head, a threshold is not a positive number, or the
/// explanations describe another number of latents than the head's C.
CompressionWeightReport inspect_compression_weights(LoadedModel& loaded, const std::vector<double>& thresholds,
                                                    int64_t show, std::optional<LatentExplanations> explanations);

/// The summary, the share below each threshold and the strongest / weakest
/// concepts (with their density and top snippet when explained), for stdout.
std::string compression_weight_table(const CompressionWeightReport& report);

/// Every number: the summary, {"threshold", "below", "share"} per threshold,
/// the rankings (with density and up to 3 snippets when explained) and "norms" [C].
nlohmann::json compression_weight_json(const CompressionWeightReport& report);

/// The histogram of the norms with the thresholds marked (weight_norms.png).
RgbImage compression_weight_histogram(const CompressionWeightReport& report);

}  // namespace cocomix
