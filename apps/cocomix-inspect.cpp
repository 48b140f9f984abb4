// cocomix-inspect: looks inside a trained checkpoint. Argument parsing only;
// eval/compression_weight_report.h does the work.
//   cocomix-inspect weights --checkpoint DIR [--concepts LATENTS.json] [-o OUT_DIR]
//                           [--thresholds 0.01,0.05,0.1] [--show N] [--json OUT]
// weights: the L2 norm of each concept's row of the concept head's compression
// weight W_comp (paper §3.3, Fig. 6c) as a table on stdout, every number in
// --json, and OUT_DIR/weight_norms.png, a histogram with the thresholds marked.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cocomix/concept/latent_explanations.h"
#include "cocomix/eval/compression_weight_report.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/png.h"

int main(int argc, char** argv) {
  CLI::App app{"Inspect a trained cocomix checkpoint", "cocomix-inspect"};
  app.require_subcommand(1);
  std::string checkpoint, concepts_path, out_dir, json_path;
  std::vector<double> thresholds = {0.01, 0.05, 0.1};
  int64_t show = 10;
  auto* weights = app.add_subcommand(
      "weights", "L2 norms of the concept head's compression weights per concept (paper §3.3, Fig. 6c)");
  weights->add_option("--checkpoint", checkpoint, "checkpoint directory, or a run directory (newest checkpoint)")
      ->required();
  weights->add_option("--concepts", concepts_path,
                      "the per-latent JSON of `cocomix-sae explain` for the checkpoint's SAE: show what the "
                      "strongest and weakest concepts are");
  weights->add_option("-o,--out", out_dir, "write OUT_DIR/weight_norms.png, a histogram of the norms");
  weights->add_option("--thresholds", thresholds, "report the share of concepts whose norm is below each")
      ->delimiter(',')
      ->capture_default_str();
  weights->add_option("--show", show, "how many strongest and weakest concepts to list")
      ->capture_default_str()
      ->check(cocomix::positive());
  weights->add_option("--json", json_path, "also write every number (the norms of all concepts too) to this file");
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    std::optional<cocomix::LatentExplanations> explanations;
    if (!concepts_path.empty()) explanations = cocomix::read_latent_explanations(concepts_path, "--concepts");
    auto loaded = cocomix::load_model(checkpoint);
    const auto report = cocomix::inspect_compression_weights(loaded, thresholds, show, std::move(explanations));
    std::printf("%s", cocomix::compression_weight_table(report).c_str());
    if (!out_dir.empty()) {
      cocomix::ensure_writable_directory(out_dir);
      const std::string png = (std::filesystem::path(out_dir) / "weight_norms.png").string();
      cocomix::write_png(png, cocomix::compression_weight_histogram(report));
      std::printf("\nhistogram: %s\n", png.c_str());
    }
    if (!json_path.empty())
      cocomix::write_file_atomically(json_path, cocomix::compression_weight_json(report).dump(2) + "\n");
    return cocomix::kExitOk;
  });
}
