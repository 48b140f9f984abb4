// cocomix-eval: zero-shot tasks (lm-evaluation-harness rules) and validation
// perplexity of a checkpoint, in one run.
//   cocomix-eval --checkpoint DIR [--tasks a,b,c --data-dir DIR] [--val CORPUS]
//                [--limit N] [--json OUT] [--markdown OUT] [--batch-size N] [--precision fp32|bf16]
//                [--device cpu|cuda]
//                [--concepts [--teacher DIR] [--sae DIR]]
// DIR is a checkpoint directory (step_XXXXXXXX) or a run directory, whose newest
// complete checkpoint is used. --concepts adds, on the --val windows, how well a
// concept head predicts the teacher's concept labels (eval/concept_quality.h).
// The JSON goes to stdout (and --json), a markdown
// table of the task metrics to stderr (and --markdown).
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/eval/concept_quality.h"
#include "cocomix/eval/eval_report.h"
#include "cocomix/eval/perplexity.h"
#include "cocomix/eval/task_runner.h"
#include "cocomix/eval/tasks/tasks.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"

namespace {

/// "name=path" pairs of a repeated flag.
std::map<std::string, std::string> name_paths(const std::vector<std::string>& items, const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw cocomix::UsageError(std::string(flag) + ": \"" + item + "\" is not TASK=PATH");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Evaluate a cocomix checkpoint: zero-shot tasks and validation perplexity", "cocomix-eval"};
  std::string checkpoint;
  std::string val_path;
  std::string json_path;
  std::string markdown_path;
  std::string format = "auto";
  std::string tasks_list;
  std::string data_dir;
  std::string tokenizer_dir;
  std::string precision = "fp32";
  std::string teacher_dir;
  std::string sae_dir;
  bool concepts = false;
  std::vector<std::string> task_files;
  std::vector<std::string> label_files;
  int64_t batch_size = 8;
  int64_t max_windows = 0;
  int64_t seq_len = 0;
  int64_t limit = 0;
  std::string device_name = "cpu";
  app.add_option("--checkpoint", checkpoint, "checkpoint directory, or a run directory (newest checkpoint)")
      ->required();
  app.add_option("--tasks", tasks_list, "comma-separated zero-shot tasks: lambada_openai, wikitext, hellaswag, "
                                        "piqa, arc_easy, arc_challenge, social_iqa, winogrande");
  app.add_option("--data-dir", data_dir, "directory laid out like shared/data (eval_lambada/, eval_piqa/, ...)");
  app.add_option("--task-file", task_files, "TASK=PATH: the data file of TASK instead of the --data-dir one");
  app.add_option("--labels-file", label_files, "TASK=PATH: the label file of TASK (piqa, social_iqa)");
  app.add_option("--tokenizer", tokenizer_dir, "GPT-2 tokenizer files (default: DATA_DIR/gpt2_tokenizer)");
  app.add_option("--limit", limit, "score only the first N documents of each task (0 = all)")
      ->capture_default_str()
      ->check(cocomix::non_negative());
  app.add_option("--val", val_path, "corpus for validation perplexity: a token file, a cocomix-tokenize directory (its val shards) or a glob");
  app.add_option("--format", format, "token file format of --val: auto, llmc, u16")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "llmc", "u16"}));
  app.add_option("--json", json_path, "also write the result as JSON to this file");
  app.add_option("--markdown", markdown_path, "also write the task metrics as a markdown table to this file");
  app.add_option("--batch-size", batch_size, "sequences per forward pass")
      ->capture_default_str()
      ->check(cocomix::positive());
  app.add_option("--precision", precision, "fp32 or bf16 (autocast) forward passes")
      ->capture_default_str()
      ->check(CLI::IsMember({"fp32", "bf16"}));
  app.add_option("--device", device_name, "cpu or cuda (the first GPU): where the model runs")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--max-windows", max_windows, "--val: evaluate at most this many windows (0 = all)")
      ->capture_default_str()
      ->check(cocomix::non_negative());
  app.add_option("--seq-len", seq_len, "--val: window length T (default: the checkpoint's data.seq_len)")
      ->check(cocomix::non_negative());
  app.add_flag("--concepts", concepts,
               "--val: also score the concept head against the teacher's concept labels (concept loss, recall)");
  app.add_option("--teacher", teacher_dir, "--concepts: the teacher (default: the checkpoint's concept.teacher_path)");
  app.add_option("--sae", sae_dir, "--concepts: the teacher's SAE (default: the checkpoint's concept.sae_path)");
  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    if (val_path.empty() && tasks_list.empty())
      throw cocomix::UsageError("give --val FILE (validation perplexity) and/or --tasks a,b,c with --data-dir DIR");
    if (concepts && val_path.empty()) throw cocomix::UsageError("--concepts: needs --val CORPUS (the windows it scores)");
    if (!concepts && (!teacher_dir.empty() || !sae_dir.empty()))
      throw cocomix::UsageError("--teacher / --sae: only used with --concepts");
    const auto names = cocomix::split_task_list(tasks_list);
    const auto files = name_paths(task_files, "--task-file");
    const auto labels = name_paths(label_files, "--labels-file");
    std::vector<std::pair<std::string, cocomix::TaskFiles>> task_paths;
    for (const auto& name : names) {
      if (data_dir.empty() && !files.count(name))
        throw cocomix::UsageError("--data-dir: needed for task \"" + name + "\" (or give --task-file " + name +
                                  "=PATH)");
      auto paths = cocomix::default_task_files(name, data_dir);  // also rejects unknown names
      if (files.count(name)) paths.data = files.at(name);
      if (labels.count(name)) paths.labels = labels.at(name);
      task_paths.emplace_back(name, paths);
    }
    const bool bf16 = precision == "bf16";
    if (device_name == "cuda" && !torch::cuda::is_available())
      throw cocomix::UsageError("--device: \"cuda\" requested but no CUDA device is present");
    const torch::Device device(device_name == "cuda" ? "cuda:0" : "cpu");
    auto loaded = cocomix::load_model(checkpoint);
    loaded.model->to(device);
    const auto model = cocomix::scoring_model(loaded.model);
    // The labeler is loaded and checked before any scoring, so a bad pairing fails at once.
    const auto labeler = concepts ? cocomix::concept_quality_labeler(loaded, teacher_dir, sae_dir) : nullptr;
    if (labeler) labeler->to(device);
    nlohmann::json out = {{"checkpoint", loaded.checkpoint_dir}, {"precision", precision}, {"device", device_name}};
    if (!names.empty()) {
      const auto tokenizer = cocomix::Gpt2Tokenizer::load(tokenizer_dir.empty() ? data_dir + "/gpt2_tokenizer"
                                                                                 : tokenizer_dir);
      if (loaded.config.model.vocab_size != tokenizer.vocab_size())
        throw cocomix::RuntimeError(loaded.checkpoint_dir + "/config.json: model.vocab_size " +
                                    std::to_string(loaded.config.model.vocab_size) + " is not the " +
                                    std::to_string(tokenizer.vocab_size()) +
                                    " ids of the GPT-2 tokenizer the tasks use; evaluate a GPT-2-vocabulary model");
      cocomix::ScorerOptions options;
      options.max_length = loaded.config.model.n_positions;
      options.batch_size = batch_size;
      options.bf16 = bf16;
      std::vector<cocomix::TaskReport> reports;
      for (const auto& [name, paths] : task_paths) {
        const auto task = cocomix::load_task(name, paths, limit);
        cocomix::log_info(name + ": " + std::to_string(task.docs.size()) + " documents from " + paths.data);
        reports.push_back({name, cocomix::run_task(task, tokenizer, model, options)});
        cocomix::log_info(name + ": " + std::to_string(reports.back().run.requests) + " requests in " +
                          std::to_string(reports.back().run.seconds) + " s");
      }
      out["tasks"] = cocomix::tasks_json(reports);
      const std::string table = cocomix::tasks_markdown(reports);
      std::fprintf(stderr, "%s", table.c_str());
      if (!markdown_path.empty()) cocomix::write_file_atomically(markdown_path, table);
    }
    if (!val_path.empty()) {
      const auto corpus = cocomix::TokenCorpus::open(val_path, "val", cocomix::parse_token_format(format));
      cocomix::PerplexityOptions options;
      options.seq_len = seq_len > 0 ? seq_len : loaded.config.data.seq_len;
      if (options.seq_len > loaded.config.model.n_positions)
        throw cocomix::UsageError("--seq-len: " + std::to_string(options.seq_len) +
                                  " exceeds the model's n_positions " +
                                  std::to_string(loaded.config.model.n_positions));
      options.batch_size = batch_size;
      options.max_windows = max_windows;
      options.vocab_size = loaded.config.model.vocab_size;
      options.bf16 = bf16;
      options.device = device;
      const auto result = cocomix::evaluate_perplexity(model, corpus, options);
      out["val_file"] = val_path;
      out["val_loss"] = result.loss;
      out["val_ppl"] = result.perplexity;
      out["tokens"] = result.tokens;
      out["windows"] = result.windows;
      out["seq_len"] = options.seq_len;
      if (labeler) {
        cocomix::ConceptQualityOptions concept_options;
        concept_options.seq_len = options.seq_len;
        concept_options.batch_size = batch_size;
        concept_options.max_windows = max_windows;
        concept_options.vocab_size = options.vocab_size;
        concept_options.bf16 = bf16;
        concept_options.device = device;
        const auto quality = cocomix::evaluate_concept_quality(loaded.model, *labeler, corpus, concept_options);
        const auto& k = loaded.config.concepts;
        out["concept_quality"] =
            cocomix::concept_quality_json(quality, teacher_dir.empty() ? k.teacher_path : teacher_dir,
                                          sae_dir.empty() ? k.sae_path : sae_dir, k.selection);
      }
    }
    std::printf("%s\n", out.dump(2).c_str());
    if (!json_path.empty()) cocomix::write_file_atomically(json_path, out.dump(2) + "\n");
    return cocomix::kExitOk;
  });
}
