// cocomix-train: trains a model from a JSON config. Argument parsing only; the
// Trainer does the work.
//   cocomix-train --config FILE [--set section.key=value]... [--out DIR] [--resume]
#include <CLI/CLI.hpp>
#include <filesystem>

#include "cocomix/config/config.h"
#include "cocomix/train/trainer.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/log.h"

int main(int argc, char** argv) {
  CLI::App app{"Pretrain a GPT-2-style model with next-token prediction, CoCoMix or a baseline (concept.mode)", "cocomix-train"};
  std::string config_path;
  std::vector<std::string> overrides;
  std::string out_dir;
  bool resume = false;
  app.add_option("--config", config_path, "JSON config file (with --resume, defaults to OUT/config.json)");
  app.add_option("--set", overrides, "override one config field, e.g. --set optim.lr=3e-4 (repeatable)");
  app.add_option("--out", out_dir, "run directory (default: runs/<config name>)");
  app.add_flag("--resume", resume, "continue from the newest complete checkpoint in OUT/checkpoints");
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    if (config_path.empty()) {
      if (!resume || out_dir.empty()) throw cocomix::UsageError("--config is required (or --resume with --out DIR)");
      config_path = (std::filesystem::path(out_dir) / "config.json").string();
    }
    if (out_dir.empty()) out_dir = "runs/" + std::filesystem::path(config_path).stem().string();
    auto config = cocomix::load_config(config_path, overrides);
    cocomix::Trainer trainer(std::move(config), {out_dir, resume});
    const auto summary = trainer.run();
    cocomix::log_info("done: " + std::to_string(summary.steps) + " steps, run directory " + out_dir);
    return cocomix::kExitOk;
  });
}
