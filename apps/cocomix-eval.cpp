// cocomix-eval: validation perplexity of a checkpoint on a token file.
//   cocomix-eval --checkpoint DIR --val FILE [--json OUT] [--batch-size N] [--max-windows N]
// DIR is a checkpoint directory (step_XXXXXXXX) or a run directory, whose newest
// complete checkpoint is used.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cocomix/eval/checkpoint_model.h"
#include "cocomix/eval/perplexity.h"
#include "cocomix/train/autocast.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

int main(int argc, char** argv) {
  CLI::App app{"Evaluate a cocomix checkpoint", "cocomix-eval"};
  std::string checkpoint;
  std::string val_path;
  std::string json_path;
  std::string format = "auto";
  int64_t batch_size = 8;
  int64_t max_windows = 0;
  int64_t seq_len = 0;
  app.add_option("--checkpoint", checkpoint, "checkpoint directory, or a run directory (newest checkpoint)")
      ->required();
  app.add_option("--val", val_path, "token file to evaluate (llm.c shard or raw uint16)")->required();
  app.add_option("--format", format, "token file format: auto, llmc, u16")->capture_default_str();
  app.add_option("--json", json_path, "also write the result as JSON to this file");
  app.add_option("--batch-size", batch_size, "windows per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-windows", max_windows, "evaluate at most this many windows (0 = all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seq-len", seq_len, "window length T (default: the checkpoint's data.seq_len)")
      ->check(CLI::NonNegativeNumber);
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    auto loaded = cocomix::load_model_for_eval(checkpoint);
    const auto file = cocomix::TokenFile::open(val_path, cocomix::parse_token_format(format));
    cocomix::PerplexityOptions options;
    options.seq_len = seq_len > 0 ? seq_len : loaded.config.data.seq_len;
    if (options.seq_len > loaded.config.model.n_positions)
      throw cocomix::UsageError("--seq-len: " + std::to_string(options.seq_len) + " exceeds the model's n_positions " +
                                std::to_string(loaded.config.model.n_positions));
    options.batch_size = batch_size;
    options.max_windows = max_windows;
    options.vocab_size = loaded.config.model.vocab_size;
    options.bf16 = cocomix::resolve_precision(loaded.config.train.precision, c10::DeviceType::CPU) == "bf16";
    const auto result = cocomix::evaluate_perplexity(
        [&](const torch::Tensor& x) { return loaded.objective->logits(x); }, file, options);
    const nlohmann::json out = {
        {"checkpoint", loaded.checkpoint_dir}, {"val_file", val_path},    {"val_loss", result.loss},
        {"val_ppl", result.perplexity},        {"tokens", result.tokens}, {"windows", result.windows},
        {"seq_len", options.seq_len}};
    std::printf("%s\n", out.dump(2).c_str());
    if (!json_path.empty()) cocomix::write_file_atomically(json_path, out.dump(2) + "\n");
    return cocomix::kExitOk;
  });
}
