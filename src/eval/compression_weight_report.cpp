// The compression-weight report: checks, table, JSON, histogram.
#include "cocomix/eval/compression_weight_report.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "cocomix/util/error.h"
#include "cocomix/util/histogram_plot.h"

namespace cocomix {
namespace {

constexpr size_t kSnippetsInJson = 3;

std::string ranking_table(const CompressionWeightReport& report, const std::vector<ConceptNorm>& ranking,
                          const char* title) {
  char line[512];
  std::snprintf(line, sizeof line, "\n%s %zu concepts:\n", title, ranking.size());
  std::string out = line;
  const bool explained = report.explanations.has_value();
  out += explained ? "  rank  concept        norm   density  top snippet\n" : "  rank  concept        norm\n";
  for (size_t rank = 0; rank < ranking.size(); ++rank) {
    const auto& [id, norm] = ranking[rank];
    std::snprintf(line, sizeof line, "  %4zu  %7lld  %10.6f", rank + 1, static_cast<long long>(id), norm);
    out += line;
    if (explained) {
      const auto& latent = report.explanations->latents[static_cast<size_t>(id)];
      if (latent.id < 0) {
        out += "         -  (not in the concepts file)";
      } else {
        std::snprintf(line, sizeof line, "  %8.5f  ", latent.density);
        out += line;
        out += latent.top.empty() ? "(no snippet)" : one_line_snippet(latent.top.front());
      }
    }
    out += "\n";
  }
  return out;
}

nlohmann::json ranking_json(const CompressionWeightReport& report, const std::vector<ConceptNorm>& ranking) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, norm] : ranking) {
    nlohmann::json entry = {{"concept", id}, {"norm", norm}};
    if (report.explanations) {
      const auto& latent = report.explanations->latents[static_cast<size_t>(id)];
      if (latent.id >= 0) {
        entry["density"] = latent.density;
        entry["mean_activation"] = latent.mean_activation;
        entry["max_activation"] = latent.max_activation;
        nlohmann::json snippets = nlohmann::json::array();
        for (size_t i = 0; i < std::min(kSnippetsInJson, latent.top.size()); ++i) {
          const auto& s = latent.top[i];
          snippets.push_back({{"activation", s.activation},
                              {"index", s.index},
                              {"before", s.before},
                              {"token", s.token},
                              {"after", s.after}});
        }
        entry["top"] = snippets;
      }
    }
    out.push_back(entry);
  }
  return out;
}

double share(int64_t count, int64_t total) { return static_cast<double>(count) / static_cast<double>(total); }

}  // namespace

CompressionWeightReport inspect_compression_weights(LoadedModel& loaded, const std::vector<double>& thresholds,
                                                    int64_t show, std::optional<LatentExplanations> explanations) {
  const auto& concepts = loaded.config.concepts;
  if (!loaded.model->concept_head())
    throw UsageError(loaded.checkpoint_dir + ": mode \"" + concepts.spec().name +
                     "\" has no concept head (no concept.compressor.weight to inspect); give a checkpoint of a mode "
                     "with one (cocomix, intervention, concept_loss_only, insertion_only)");
  for (const double threshold : thresholds)
    if (!std::isfinite(threshold) || threshold <= 0)
      throw UsageError("--thresholds: " + std::to_string(threshold) + " is not a positive number");
  const torch::Tensor weight = loaded.model->concept_head()->compressor->weight;  // [C, d]
  CompressionWeightReport report;
  report.checkpoint_dir = loaded.checkpoint_dir;
  report.mode = concepts.spec().name;
  report.n_concepts = weight.size(0);
  report.d = weight.size(1);
  if (explanations) check_latent_count(*explanations, report.n_concepts, loaded.checkpoint_dir, "--concepts");
  report.explanations = std::move(explanations);
  report.summary = summarize_compression_weights(weight, thresholds, show);
  return report;
}

std::string compression_weight_table(const CompressionWeightReport& report) {
  const auto& s = report.summary;
  char line[512];
  std::string out = "checkpoint " + report.checkpoint_dir + " (mode " + report.mode + ")\n";
  std::snprintf(line, sizeof line,
                "W_comp (concept.compressor.weight) [%lld, %lld]: L2 norm of each concept's row\n"
                "  min %.6f  median %.6f  mean %.6f  max %.6f\n\n  threshold  below  share\n",
                static_cast<long long>(report.n_concepts), static_cast<long long>(report.d), s.min, s.median, s.mean,
                s.max);
  out += line;
  for (size_t i = 0; i < s.thresholds.size(); ++i) {
    std::snprintf(line, sizeof line, "  %9g  %5lld  %5.1f%%\n", s.thresholds[i], static_cast<long long>(s.below[i]),
                  100 * share(s.below[i], report.n_concepts));
    out += line;
  }
  out += ranking_table(report, s.strongest, "strongest");
  out += ranking_table(report, s.weakest, "weakest");
  return out;
}

nlohmann::json compression_weight_json(const CompressionWeightReport& report) {
  const auto& s = report.summary;
  nlohmann::json thresholds = nlohmann::json::array();
  for (size_t i = 0; i < s.thresholds.size(); ++i)
    thresholds.push_back(
        {{"threshold", s.thresholds[i]}, {"below", s.below[i]}, {"share", share(s.below[i], report.n_concepts)}});
  nlohmann::json out = {{"checkpoint", report.checkpoint_dir},
                        {"mode", report.mode},
                        {"n_concepts", report.n_concepts},
                        {"d", report.d},
                        {"min", s.min},
                        {"median", s.median},
                        {"mean", s.mean},
                        {"max", s.max},
                        {"thresholds", thresholds},
                        {"strongest", ranking_json(report, s.strongest)},
                        {"weakest", ranking_json(report, s.weakest)},
                        {"norms", s.norms}};
  if (report.explanations) out["concepts_file"] = report.explanations->path;
  return out;
}

RgbImage compression_weight_histogram(const CompressionWeightReport& report) {
  HistogramPlot plot;
  plot.values = report.summary.norms;
  plot.markers = report.summary.thresholds;
  plot.title = "W_COMP ROW NORMS: C = " + std::to_string(report.n_concepts) + ", D = " + std::to_string(report.d);
  plot.x_label = "L2 NORM OF W_COMP ROW (ONE PER CONCEPT)";
  plot.y_label = "CONCEPTS";
  return render_histogram(plot);
}

}  // namespace cocomix
