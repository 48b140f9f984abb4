// cocomix-generate: text from a checkpoint of any mode (NTP, every concept
// mode, Hugging Face imports), with the student's predicted concepts shown and
// steered. Argument parsing and text in/out only; generate/generator.h does the work.
//   cocomix-generate --checkpoint DIR (--prompt TEXT | --prompts FILE.jsonl | --prompt-ids 1,2,3)
//                    [--max-new-tokens N] [--greedy | --temperature T --top-k K --top-p P]
//                    [--seed S] [--tokenizer DIR] [--no-cache] [--json OUT] [--threads N] [--batch-size N]
//                    [--explain [--concepts LATENTS.json]] [--steer ID=FACTOR]...
//                    [--sae DIR --steer-sae ID=FACTOR...]
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cocomix/concept/latent_explanations.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/data/byte_tokenizer.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/recorded_tokenizer.h"
#include "cocomix/data/text_codec.h"
#include "cocomix/generate/generator.h"
#include "cocomix/generate/sae_steering.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/sha256.h"
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

/// A prompt, the seed of its draws, and where it came from (for error messages).
struct Prompt {
  std::string text;
  std::string source;  ///< "--prompt" or FILE:LINE
  std::optional<uint64_t> seed;
};

/// The prompts of a JSONL file: one {"prompt": "...", "seed": S (optional)} object per line.
std::vector<Prompt> read_prompts(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cocomix::UsageError("--prompts: " + path + ": cannot open");
  std::vector<Prompt> prompts;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number);
    const json entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("prompt") || !entry["prompt"].is_string())
      throw cocomix::UsageError("--prompts: " + where + ": expected {\"prompt\": \"...\"}");
    std::optional<uint64_t> seed;
    if (entry.contains("seed")) {
      if (!entry["seed"].is_number_unsigned())
        throw cocomix::UsageError("--prompts: " + where + ": seed: expected a non-negative integer");
      seed = entry["seed"].get<uint64_t>();
    }
    prompts.push_back({entry["prompt"].get<std::string>(), where, seed});
  }
  if (prompts.empty()) throw cocomix::UsageError("--prompts: " + path + ": no prompts");
  return prompts;
}

cocomix::ConceptSteering parse_steering(const std::vector<std::string>& items, const std::string& flag) {
  cocomix::ConceptSteering steering;
  for (const auto& item : items) steering.factors.push_back(cocomix::parse_concept_factor(item, flag));
  return steering;
}

json steering_json(const cocomix::ConceptSteering& steering) {
  json out = json::array();
  for (const auto& [id, factor] : steering.factors) out.push_back({{"id", id}, {"factor", factor}});
  return out;
}

/// The --explain table of one generation: a row per token read with its kept
/// concepts (id:logit), then, with descriptions, each concept's top snippet.
void print_concepts(const std::vector<cocomix::PredictedConcepts>& concepts, const std::optional<cocomix::TextCodec>& codec,
                    const std::optional<cocomix::LatentExplanations>& explanations) {
  std::printf("%5s  %-16s  %s\n", "pos", "token", "predicted concepts (id:logit)");
  std::set<int64_t> seen;
  for (size_t position = 0; position < concepts.size(); ++position) {
    const auto& row = concepts[position];
    std::string token = codec ? json(codec->decode({row.token})).dump() : std::to_string(row.token);
    std::string listed;
    for (size_t j = 0; j < row.ids.size(); ++j) {
      char cell[64];
      std::snprintf(cell, sizeof cell, "%s%lld:%.2f", j == 0 ? "" : "  ", static_cast<long long>(row.ids[j]),
                    row.values[j]);
      listed += cell;
      seen.insert(row.ids[j]);
    }
    std::printf("%5zu  %-16s  %s\n", position, token.c_str(), listed.c_str());
  }
  if (!explanations) return;
  std::printf("concepts (density, top context):\n");
  for (const int64_t id : seen) {
    const auto& latent = explanations->latents[static_cast<size_t>(id)];
    std::printf("  %6lld  %.4f  %s\n", static_cast<long long>(id), latent.density,
                latent.top.empty() ? "(never fired)" : cocomix::one_line_snippet(latent.top[0]).c_str());
  }
}

json concepts_json(const std::vector<cocomix::PredictedConcepts>& concepts, const std::optional<cocomix::TextCodec>& codec) {
  json out = json::array();
  for (size_t position = 0; position < concepts.size(); ++position) {
    const auto& row = concepts[position];
    json entry = {{"position", position}, {"token_id", row.token}, {"ids", row.ids}, {"values", row.values}};
    if (codec) entry["token"] = codec->decode({row.token});
    out.push_back(entry);
  }
  return out;
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
  std::string checkpoint, prompt, prompts_file, prompt_ids, tokenizer_dir, json_out, concepts_file, sae_dir;
  std::vector<std::string> steer_items, steer_sae_items;
  cocomix::GenerationOptions options;
  bool greedy = false, no_cache = false;
  double temperature = 1.0, top_p = 1.0;
  int64_t top_k = 0, threads = 0, batch_size = 16;
  app.add_option("--checkpoint", checkpoint, "checkpoint or run directory (its newest complete checkpoint)")
      ->required();
  auto* prompt_option = app.add_option("--prompt", prompt, "the prompt text");
  auto* prompts_option = app.add_option(
      "--prompts", prompts_file, "JSONL file, one {\"prompt\": \"...\"} per line (a \"seed\" field overrides --seed)");
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
  app.add_option("--threads", threads, "intra-op threads (0 = every core)")->check(cocomix::non_negative());
  app.add_option("--batch-size", batch_size,
                 "prompts decoded together, left-padded (default 16; each prompt's tokens are those it gets alone)")
      ->check(cocomix::positive());
  app.add_flag("--explain", options.explain,
               "show the concepts the student predicts at every token (checkpoints with a concept head)");
  app.add_option("--concepts", concepts_file, "latents.json of cocomix-sae explain: label --explain's concepts")
      ->check(CLI::ExistingFile);
  app.add_option("--steer", steer_items,
                 "ID=FACTOR: scale the student's predicted concept ID by FACTOR before compression "
                 "(repeatable; a concept the TopK dropped enters at FACTOR x the smallest kept logit)");
  auto* sae_option = app.add_option("--sae", sae_dir, "SAE directory of this model (a teacher) for --steer-sae");
  auto* steer_sae_option = app.add_option(
      "--steer-sae", steer_sae_items,
      "ID=FACTOR: steer SAE latent ID in the residual after the SAE's layer (repeatable; needs --sae)");
  steer_sae_option->needs(sae_option);
  sae_option->needs(steer_sae_option);

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

    if (!concepts_file.empty() && !options.explain) throw cocomix::UsageError("--concepts: needs --explain");
    options.steering.concepts = parse_steering(steer_items, "--steer");
    const auto sae_latents = parse_steering(steer_sae_items, "--steer-sae");

    auto loaded = cocomix::load_model(checkpoint);
    const auto& model_config = loaded.config.model;
    const auto& head = loaded.model->concept_head();
    for (const auto& [flag, used] : {std::pair{"--explain", options.explain}, {"--steer", !steer_items.empty()}})
      if (used && !head)
        throw cocomix::UsageError(std::string(flag) + ": " + loaded.checkpoint_dir + " is a " +
                                  loaded.model->spec().name + " checkpoint, without a concept head");
    std::optional<cocomix::LatentExplanations> explanations;
    if (!concepts_file.empty()) {
      explanations = cocomix::read_latent_explanations(concepts_file, "--concepts");
      cocomix::check_latent_count(*explanations, head->predictor->weight.size(1), loaded.checkpoint_dir,
                                  "--concepts");
    }
    if (!sae_dir.empty()) {
      if (!steer_items.empty()) throw cocomix::UsageError("--steer-sae: steers a teacher; do not combine with --steer");
      auto sae = cocomix::load_sae(sae_dir);
      cocomix::check_sae_fits(*sae, sae_dir, *loaded.model,
                              cocomix::sha256_file_hex(cocomix::teacher_weights_file(loaded.checkpoint_dir)));
      options.steering = cocomix::sae_steering(sae, sae_latents, "--steer-sae");
    }

    // Every prompt is read and checked before anything is generated or written.
    std::vector<std::vector<int64_t>> prompts_ids;
    std::optional<cocomix::TextCodec> codec;
    std::vector<Prompt> prompts;
    if (ids_option->count() > 0) {
      prompts_ids.push_back(parse_ids(prompt_ids));
      prompts.push_back({prompt_ids, "--prompt-ids", std::nullopt});
    } else {
      const int64_t vocab = model_config.vocab_size;
      codec.emplace(cocomix::make_text_codec(
          vocab, tokenizer_dir, [&] { return cocomix::recorded_gpt2_tokenizer(loaded.config); },
          loaded.checkpoint_dir + "/config.json has " + std::to_string(vocab) +
              " token ids and its data manifest names no GPT-2 tokenizer files",
          ", or use --prompt-ids"));
      prompts = prompt_option->count() > 0 ? std::vector<Prompt>{{prompt, "--prompt", std::nullopt}}
                                          : read_prompts(prompts_file);
      for (const auto& entry : prompts) prompts_ids.push_back(codec->encode(entry.text));
    }
    for (size_t i = 0; i < prompts_ids.size(); ++i) {
      const auto size = static_cast<int64_t>(prompts_ids[i].size());
      if (size == 0) throw cocomix::UsageError(prompts[i].source + ": the prompt has no tokens");
      for (const int64_t id : prompts_ids[i])
        if (id < 0 || id >= model_config.vocab_size)
          throw cocomix::UsageError(prompts[i].source + ": token " + std::to_string(id) +
                                    " is outside the model's vocabulary [0, " +
                                    std::to_string(model_config.vocab_size) + ")");
      if (size > model_config.n_positions)
        throw cocomix::UsageError(prompts[i].source + ": the prompt has " + std::to_string(size) +
                                  " tokens, more than the model's context of " +
                                  std::to_string(model_config.n_positions));
    }
    options.end_of_text = end_of_text_of(model_config.vocab_size);

    json results = json::array();
    std::vector<cocomix::Generation> generations;
    for (size_t first = 0; first < prompts_ids.size(); first += static_cast<size_t>(batch_size)) {
      const size_t last = std::min(prompts_ids.size(), first + static_cast<size_t>(batch_size));
      std::vector<std::vector<int64_t>> batch_ids;
      std::vector<uint64_t> seeds;
      for (size_t i = first; i < last; ++i) {
        batch_ids.push_back(prompts_ids[i]);
        seeds.push_back(prompts[i].seed.value_or(options.seed));
      }
      auto batch = cocomix::generate_batch(loaded.model, batch_ids, options, seeds);
      std::move(batch.begin(), batch.end(), std::back_inserter(generations));
    }
    for (size_t i = 0; i < prompts_ids.size(); ++i) {
      const auto& generation = generations[i];
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
      if (options.explain) {
        print_concepts(generation.concepts, codec, explanations);
        result["concepts"] = concepts_json(generation.concepts, codec);
      }
      results.push_back(result);
    }
    json document = {{"checkpoint", loaded.checkpoint_dir},
                     {"mode", cocomix::name_of(loaded.config.concepts.mode)},
                     {"results", results}};
    if (!steer_items.empty()) document["steer"] = steering_json(options.steering.concepts);
    if (!sae_dir.empty()) document["steer_sae"] = {{"sae", sae_dir}, {"latents", steering_json(sae_latents)}};
    if (!json_out.empty()) cocomix::write_file_atomically(json_out, document.dump(2) + "\n");
    return cocomix::kExitOk;
  });
}
