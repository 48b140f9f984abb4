// cocomix-sae: the TopK sparse autoencoder of a teacher's residual stream.
// Argument parsing only; train/sae_trainer.h, concept/sae_evaluation.h, concept/latent_dashboard.h and
// concept/label_cache_builder.h do the work.
//   cocomix-sae train --teacher DIR --layer L --latents C --k K --data CORPUS [--val CORPUS]
//                     [--steps N] [--batch B] [--seq-len T] [--lr X] [--seed S] [--threads N]
//                     -o OUT_DIR [--resume]
//   cocomix-sae eval --sae DIR --teacher DIR --data CORPUS [--seq-len T] [--batch B] [--windows N] [--json OUT]
//   cocomix-sae explain --sae DIR --teacher DIR --data CORPUS -o OUT_DIR [--top N] [--context-before B]
//                       [--context-after A] [--seq-len T] [--batch B] [--max-tokens N] [--tokenizer DIR] [--threads N]
//   cocomix-sae label --config FILE [--set section.key=value]... [-o CACHE] [--sync-every SECONDS]
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cocomix/concept/label_cache_builder.h"
#include "cocomix/concept/latent_dashboard.h"
#include "cocomix/concept/sae_evaluation.h"
#include "cocomix/config/config.h"
#include "cocomix/train/sae_trainer.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"
#include "cocomix/util/system.h"

int main(int argc, char** argv) {
  CLI::App app{"TopK sparse autoencoders of a teacher's residual stream (Gao et al. 2024)", "cocomix-sae"};
  app.require_subcommand(1);
  cocomix::SaeTrainOptions o;
  auto* train = app.add_subcommand("train", "train an SAE on the activations after block --layer of --teacher");
  train->add_option("--teacher", o.teacher, "Hugging Face GPT-2 directory or cocomix checkpoint/run directory")
      ->required();
  train->add_option("--layer", o.layer, "L: encode the residual stream after block L (1..n_layer)")->required();
  train->add_option("--latents", o.latents, "C: number of latents")->required();
  train->add_option("--k", o.k, "latents kept per token by TopK")->required();
  train->add_option("--data", o.data, "training corpus: a token file, a cocomix-tokenize directory (its train shards) or a glob")->required();
  train->add_option("--val", o.val, "validation corpus, as --data (a directory: its val shards); val_nmse and val_fvu records");
  train->add_option("--format", o.format, "token file layout: auto, llmc or u16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "llmc", "u16"}));
  train->add_option("--steps", o.steps, "optimizer steps")->capture_default_str();
  train->add_option("--batch", o.batch, "windows per step")->capture_default_str();
  train->add_option("--seq-len", o.seq_len, "tokens per window")->capture_default_str();
  train->add_option("--lr", o.lr, "Adam learning rate (constant)")->capture_default_str();
  train->add_option("--k-aux", o.k_aux, "AuxK latents per token (0: min(d/2, C))")->capture_default_str();
  train->add_option("--aux-coef", o.aux_coef, "AuxK loss coefficient")->capture_default_str();
  train->add_option("--dead-tokens", o.dead_tokens, "a latent is dead after this many tokens without firing")
      ->capture_default_str();
  train->add_option("--seed", o.seed, "SAE init and window order")->capture_default_str();
  train->add_option("--threads", o.threads, "intra-op threads (0: every core)")->capture_default_str();
  train->add_option("--log-every", o.log_every, "steps between metrics records")->capture_default_str();
  train->add_option("--checkpoint-every", o.checkpoint_every, "steps between checkpoints (0: end only)")
      ->capture_default_str();
  train->add_option("--keep-checkpoints", o.keep_checkpoints, "newest checkpoints kept")->capture_default_str();
  train->add_option("--eval-every", o.eval_every, "steps between validation passes (0: end only)")
      ->capture_default_str();
  train->add_option("--val-windows", o.val_windows, "validation windows per pass (0: all)")->capture_default_str();
  train->add_option("-o,--out", o.out_dir, "output directory")->required();
  train->add_flag("--resume", o.resume, "continue from the newest complete checkpoint in OUT/checkpoints");

  std::string sae_dir, eval_teacher, eval_data, json_path, eval_format = "auto";
  int64_t eval_seq_len = 64, eval_batch = 16, eval_windows = 0, eval_threads = 0;
  auto* eval = app.add_subcommand("eval", "normalised MSE, FVU and unused latents of an SAE on a token file");
  eval->add_option("--sae", sae_dir, "SAE directory (sae.json + sae.safetensors)")->required();
  eval->add_option("--teacher", eval_teacher, "the teacher the SAE encodes")->required();
  eval->add_option("--data", eval_data, "corpus (a directory: its val shards); non-overlapping windows from each shard's start")->required();
  eval->add_option("--format", eval_format, "token file layout: auto, llmc or u16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "llmc", "u16"}));
  eval->add_option("--seq-len", eval_seq_len, "tokens per window")->capture_default_str()->check(cocomix::positive());
  eval->add_option("--batch", eval_batch, "windows per forward")->capture_default_str()->check(cocomix::positive());
  eval->add_option("--windows", eval_windows, "at most this many windows (0: all)")
      ->capture_default_str()
      ->check(cocomix::non_negative());
  eval->add_option("--threads", eval_threads, "intra-op threads (0: every core)")
      ->capture_default_str()
      ->check(cocomix::non_negative());
  eval->add_option("--json", json_path, "also write the result as JSON to this file");

  cocomix::ExplainCommand x;
  std::string explain_format = "auto";
  int64_t explain_threads = 0;  // x.options' numbers are checked by explain_sae_latents, one message per flag
  auto* explain = app.add_subcommand(
      "explain", "what each latent means: its top activating contexts, density, mean and max (docs/concepts.md)");
  explain->add_option("--sae", x.sae_dir, "SAE directory (sae.json + sae.safetensors)")->required();
  explain->add_option("--teacher", x.teacher_dir, "the teacher the SAE encodes")->required();
  explain->add_option("--data", x.data_path, "corpus (a directory: its val shards), read in consecutive windows of each shard")->required();
  explain->add_option("-o,--out", x.out_dir, "output directory: latents.json + index.html")->required();
  explain->add_option("--format", explain_format, "token file layout: auto, llmc or u16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "llmc", "u16"}));
  explain->add_option("--top", x.options.top, "N: top activations kept per latent")->capture_default_str();
  explain->add_option("--context-before", x.options.context_before, "tokens of context shown before the token")
      ->capture_default_str();
  explain->add_option("--context-after", x.options.context_after, "tokens of context shown after the token")
      ->capture_default_str();
  explain->add_option("--seq-len", x.options.seq_len, "tokens per window through the teacher")->capture_default_str();
  explain->add_option("--batch", x.options.batch, "windows per forward")->capture_default_str();
  explain->add_option("--max-tokens", x.options.max_tokens, "read only the first N tokens (0: the whole file)")
      ->capture_default_str();
  explain->add_option("--tokenizer", x.tokenizer_dir,
                      "GPT-2 tokenizer directory (default: bytes for 257 ids, else the one the data's manifest names)");
  explain->add_option("--threads", explain_threads, "intra-op threads (0: every core)")
      ->capture_default_str()
      ->check(cocomix::non_negative());

  std::string label_config, label_out;
  std::vector<std::string> label_overrides;
  int64_t label_sync_seconds = 30;
  auto* label = app.add_subcommand(
      "label", "precompute the concept labels of every fixed window of a training config's data (docs/label-cache.md)");
  label->add_option("--config", label_config, "the training config (data, concept and train.batch_size/threads)")
      ->required();
  label->add_option("--set", label_overrides, "override a config value: section.key=value (repeatable)");
  label->add_option("-o,--out", label_out, "cache file (default: the config's concept.label_cache)");
  label
      ->add_option("--sync-every", label_sync_seconds,
                   "seconds between syncs of the labels to disk, the windows a resume keeps after a crash or power "
                   "loss (0: after every batch)")
      ->capture_default_str()
      ->check(cocomix::non_negative());

  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  if (label->parsed()) {
    return cocomix::run_app([&] {
      const auto config = cocomix::load_config(label_config, label_overrides);
      if (!config.concepts.spec().concept_loss) {
        std::string with_labels;
        for (const auto& mode : cocomix::mode_table())
          if (mode.concept_loss) with_labels += std::string(with_labels.empty() ? "" : ", ") + mode.name;
        throw cocomix::UsageError(config.source + ": concept.mode: \"" + config.concepts.spec().name +
                                  "\" has no concept labels (use " + with_labels + ")");
      }
      const std::string out = label_out.empty() ? config.concepts.label_cache : label_out;
      if (out.empty())
        throw cocomix::UsageError("--out: no cache file given and " + config.source + " sets no concept.label_cache");
      torch::set_num_threads(
          static_cast<int>(config.train.threads > 0 ? config.train.threads : cocomix::available_cores()));
      const auto windows = cocomix::build_label_cache(config, out, label_sync_seconds);
      cocomix::log_info("done: labels of " + std::to_string(windows) + " windows in " + out);
      return cocomix::kExitOk;
    });
  }
  if (explain->parsed()) {
    return cocomix::run_app([&] {
      torch::set_num_threads(static_cast<int>(explain_threads > 0 ? explain_threads : cocomix::available_cores()));
      x.format = cocomix::parse_token_format(explain_format);
      cocomix::explain_sae_latents(x);
      cocomix::log_info("done: " + x.out_dir + "/latents.json and " + x.out_dir + "/index.html");
      return cocomix::kExitOk;
    });
  }
  if (eval->parsed()) {
    return cocomix::run_app([&] {
      torch::set_num_threads(static_cast<int>(eval_threads > 0 ? eval_threads : cocomix::available_cores()));
      auto [sae, teacher] = cocomix::load_sae_with_teacher(sae_dir, eval_teacher, eval_seq_len);
      const auto corpus = cocomix::TokenCorpus::open(eval_data, "val", cocomix::parse_token_format(eval_format));
      const auto result = cocomix::evaluate_sae(*teacher, *sae, corpus, eval_seq_len, eval_batch, eval_windows);
      const nlohmann::json out = {{"sae", sae_dir},
                                  {"data", eval_data},
                                  {"layer", sae->info().layer},
                                  {"nmse", result.nmse},
                                  {"fvu", result.fvu},
                                  {"dead_fraction", result.dead_fraction},
                                  {"windows", result.windows},
                                  {"tokens", result.tokens},
                                  {"seq_len", eval_seq_len}};
      std::printf("%s\n", out.dump(2).c_str());
      if (!json_path.empty()) cocomix::write_file_atomically(json_path, out.dump(2) + "\n");
      return cocomix::kExitOk;
    });
  }
  return cocomix::run_app([&] {
    const auto summary = cocomix::train_sae(o);
    if (!summary.interrupted)
      cocomix::log_info("done: " + std::to_string(summary.steps) + " steps, training fvu " +
                        std::to_string(summary.last_fvu) + ", SAE in " + o.out_dir);
    return cocomix::kExitOk;
  });
}
