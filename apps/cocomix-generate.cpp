// cocomix-generate: text from a checkpoint of any mode (NTP, every concept
// mode, Hugging Face imports). Argument parsing and text in/out only;
// generate/generator.h does the work.
//   cocomix-generate --checkpoint DIR (--prompt TEXT | --prompts FILE.jsonl | --prompt-ids 1,2,3)
//                    [--max-new-tokens N] [--greedy | --temperature T --top-k K --top-p P]
//                    [--seed S] [--tokenizer DIR] [--no-cache] [--json OUT] [--threads N]
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cocomix/data/byte_tokenizer.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/recorded_tokenizer.h"
#include "cocomix/data/text_codec.h"
#include "cocomix/generate/generator.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/system.h"

namespace {

using json = nlohmann::json;

/// The end-of-text id of a vocabulary, where generation stops: the byte
/// tokenizer's for 257 ids, GPT-2's for its vocabulary (or a padded one); none otherwise.
int64_t end_of_text_of(int64_t vocab_size) {
  if (vocab_size == cocomix::ByteTokenizer::kVocabSize) return cocomix::ByteTokenizer::kEndOfText;
  if (vocab_size >= cocomix::kGpt2VocabSize) return cocomix::kGpt2EndOfText;
  return -1;
}

/// The prompts of a JSONL file: one {"prompt": "..."} object per line.
std::vector<std::string> read_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cocomix::UsageError("--prompts: " + path + ": cannot open");
  std::vector<std::string> prompts;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("prompt") || !entry["prompt"].is_string())
      throw cocomix::UsageError(path + ":" + std::to_string(number) + ": expected {\"prompt\": \"...\"}");
    prompts.push_back(entry["prompt"].get<std::string>());
  }
  if (prompts.empty()) throw cocomix::UsageError("--prompts: " + path + ": no prompts");
  return prompts;
}

/// "1,2,3" -> {1, 2, 3}.
std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      ids.push_back(std::stoll(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw cocomix::UsageError("--prompt-ids: \"" + item + "\" is not a token id (expected ids like 464,3290)");
    }
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Generate text from a cocomix checkpoint (any mode) with a KV cache", "cocomix-generate"};
  std::string checkpoint, prompt, prompts_file, prompt_ids, tokenizer_dir, json_out;
  cocomix::GenerationOptions options;
  bool greedy = false, no_cache = false;
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0, threads = 0;
  app.add_option("--checkpoint", checkpoint, "checkpoint or run directory (its newest complete checkpoint)")
      ->required();
  auto* prompt_option = app.add_option("--prompt", prompt, "the prompt text");
  auto* prompts_option = app.add_option("--prompts", prompts_file, "JSONL file, one {\"prompt\": \"...\"} per line");
  auto* ids_option = app.add_option("--prompt-ids", prompt_ids, "the prompt as token ids: 464,3290,...");
  prompt_option->excludes(prompts_option)->excludes(ids_option);
  prompts_option->excludes(ids_option);
  app.add_option("--max-new-tokens", options.max_new_tokens, "tokens to generate at most (default 64)");
  auto* greedy_flag =
      app.add_flag("--greedy", greedy, "take the most likely token (the default without --temperature)");
  auto* temperature_option = app.add_option("--temperature", temperature, "sample at this temperature");
  app.add_option("--top-k", top_k, "sample among the k most likely tokens (0 = all)");
  app.add_option("--top-p", top_p, "sample from the smallest set of tokens whose probability reaches p");
  greedy_flag->excludes(temperature_option);
  app.add_option("--seed", options.seed, "seed of the sampling draws (default 0)");
  app.add_option("--tokenizer", tokenizer_dir,
                 "GPT-2 tokenizer directory; default: the files the checkpoint's data manifest records "
                 "(a 257-id vocabulary is bytes)");
  app.add_flag("--no-cache", no_cache, "recompute the whole sequence for every token (the cache's reference)");
  app.add_option("--json", json_out, "also write the results as JSON to this file");
  app.add_option("--threads", threads, "intra-op threads (0 = every core)");

  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    if (prompt_option->count() + prompts_option->count() + ids_option->count() == 0)
      throw cocomix::UsageError("--prompt, --prompts or --prompt-ids: one is required");
    torch::set_num_threads(static_cast<int>(threads > 0 ? threads : cocomix::available_cores()));
    options.sampling.greedy = temperature_option->count() == 0 && top_k == 0 && top_p == 1.0;
    options.sampling.temperature = temperature;
    options.sampling.top_k = top_k;
    options.sampling.top_p = top_p;
    options.sampling.validate();
    options.use_cache = !no_cache;

    auto loaded = cocomix::load_model(checkpoint);
    std::vector<std::vector<int64_t>> prompts_ids;
    std::optional<cocomix::TextCodec> codec;
    if (ids_option->count() > 0) {
      prompts_ids.push_back(parse_ids(prompt_ids));
    } else {
      const int64_t vocab = loaded.config.model.vocab_size;
      codec.emplace(cocomix::make_text_codec(
          vocab, tokenizer_dir, [&] { return cocomix::recorded_gpt2_tokenizer(loaded.config); },
          loaded.checkpoint_dir + "/config.json has " + std::to_string(vocab) +
              " token ids and its data manifest names no GPT-2 tokenizer files",
          ", or use --prompt-ids"));
      for (const auto& text :
           prompt_option->count() > 0 ? std::vector<std::string>{prompt} : read_prompts(prompts_file))
        prompts_ids.push_back(codec->encode(text));
    }
    options.end_of_text = end_of_text_of(loaded.config.model.vocab_size);

    json results = json::array();
    for (size_t i = 0; i < prompts_ids.size(); ++i) {
      const auto generation = cocomix::generate(loaded.model, prompts_ids[i], options);
      json result = {
          {"prompt_ids", prompts_ids[i]}, {"tokens", generation.tokens}, {"stop", cocomix::name_of(generation.stop)}};
      if (codec) {
        result["prompt"] = codec->decode(prompts_ids[i]);
        result["completion"] = codec->decode(generation.tokens);
        std::printf("%s%s\n", result["prompt"].get<std::string>().c_str(),
                    result["completion"].get<std::string>().c_str());
      } else {
        std::printf("%s\n", result["tokens"].dump().c_str());
      }
      results.push_back(result);
    }
    const json document = {{"checkpoint", loaded.checkpoint_dir},
                           {"mode", cocomix::name_of(loaded.config.concepts.mode)},
                           {"results", results}};
    if (!json_out.empty()) cocomix::write_file_atomically(json_out, document.dump(2) + "\n");
    return cocomix::kExitOk;
  });
}
