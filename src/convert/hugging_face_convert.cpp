// export_hugging_face / import_hugging_face: the files of hugging_face_convert.h,
// every tensor validated by loading it into the model before anything is written.
#include "cocomix/convert/hugging_face_convert.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/recorded_tokenizer.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/model/hugging_face.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const StringMap kPytorchMetadata = {{"format", "pt"}};  // transformers refuses safetensors without it
constexpr const char* kEndOfTextText = "<|endoftext|>";

/// vocab.json, merges.txt (copied byte for byte), tokenizer_config.json and special_tokens_map.json.
void write_tokenizer_files(const Gpt2Tokenizer& tokenizer, const ModelConfig& model, const fs::path& out) {
  write_file_atomically((out / "vocab.json").string(), read_whole_file(tokenizer.files().at(0)));
  write_file_atomically((out / "merges.txt").string(), read_whole_file(tokenizer.files().at(1)));
  const json special = {{"bos_token", kEndOfTextText}, {"eos_token", kEndOfTextText}, {"unk_token", kEndOfTextText}};
  json tokenizer_config = special;
  tokenizer_config.update({{"tokenizer_class", "GPT2Tokenizer"},
                           {"model_max_length", model.n_positions},
                           {"add_prefix_space", false},
                           {"add_bos_token", false},
                           {"clean_up_tokenization_spaces", false},
                           {"errors", "replace"}});
  write_file_atomically((out / "tokenizer_config.json").string(), tokenizer_config.dump(2) + "\n");
  write_file_atomically((out / "special_tokens_map.json").string(), special.dump(2) + "\n");
}

/// cocomix_concept.json's "insertion": what the mode inserts at insert_layer.
const char* insertion_name(const ModeSpec& mode) {
  switch (mode.insertion) {
    case Insertion::kNone: return "none";
    case Insertion::kAdd: return "concept_add";
    case Insertion::kInterleave: return mode.pause_vector() ? "pause_interleave" : "concept_interleave";
  }
  return "none";
}

}  // namespace

HuggingFaceExport export_hugging_face(const std::string& checkpoint_or_run_dir, const std::string& out_dir,
                                      const std::string& tokenizer_dir) {
  const fs::path out(out_dir);
  if (fs::exists(out / kHuggingFaceWeightsFile))
    throw UsageError(out_dir + ": already holds " + kHuggingFaceWeightsFile + "; choose another --out or remove it");
  LoadedModel loaded = load_model(checkpoint_or_run_dir);
  const Config& config = loaded.config;
  const ModelConfig& model = config.model;

  HuggingFaceExport result;
  result.checkpoint_dir = loaded.checkpoint_dir;
  const ModeSpec& mode = loaded.model->spec();
  result.mode = mode.name;
  result.same_forward = mode.insertion == Insertion::kNone;

  // The vocabulary decides the tokenizer files (and bos/eos) before anything is written.
  std::optional<Gpt2Tokenizer> tokenizer;
  const bool gpt2_vocab = model.vocab_size >= kGpt2VocabSize;
  if (gpt2_vocab) {
    tokenizer = tokenizer_dir.empty() ? recorded_gpt2_tokenizer(config) : Gpt2Tokenizer::load(tokenizer_dir);
    if (!tokenizer)
      throw UsageError("--tokenizer: required: the checkpoint's vocabulary (" + std::to_string(model.vocab_size) +
                       " ids) is GPT-2's and its data manifest records no GPT-2 tokenizer files; pass the "
                       "directory with encoder.json + vocab.bpe (or vocab.json + merges.txt)");
    if (tokenizer->vocab_size() > model.vocab_size)
      throw UsageError("--tokenizer: " + tokenizer->files().at(0) + " has " + std::to_string(tokenizer->vocab_size()) +
                       " ids, more than the model's vocab_size " + std::to_string(model.vocab_size));
    result.tokenizer_dir = fs::path(tokenizer->files().at(0)).parent_path().string();
  } else {
    log_warn(loaded.checkpoint_dir + "/config.json: model.vocab_size " + std::to_string(model.vocab_size) +
             " is not GPT-2's (" + std::to_string(kGpt2VocabSize) + "): no tokenizer files written");
  }

  // GPT tensors under HF names; everything else of the student goes to the concept file. [V, d], [T, d], ...
  const TensorMap gpt = gpt_state_dict(*loaded.model->gpt());
  TensorMap extra;
  for (const auto& [name, tensor] : loaded.model->state_dict())
    if (!gpt.count(name)) extra.emplace(name, tensor);
  result.tensors = static_cast<int64_t>(gpt.size());

  ensure_writable_directory(out_dir);
  save_safetensors_atomically((out / kHuggingFaceWeightsFile).string(), gpt, kPytorchMetadata);
  const auto end_of_text = gpt2_vocab ? std::optional<int64_t>(kGpt2EndOfText) : std::nullopt;
  write_file_atomically((out / kHuggingFaceConfigFile).string(),
                        hugging_face_config(model, "float32", end_of_text).dump(2) + "\n");
  if (tokenizer) write_tokenizer_files(*tokenizer, model, out);

  if (!extra.empty()) {
    const auto& k = config.concepts;
    json names = json::array();
    for (const auto& entry : extra) names.push_back(entry.first);
    json info = {
        {"format", "cocomix_concept"},
        {"version", 1},
        {"mode", mode.name},
        {"insertion", insertion_name(mode)},
        {"insert_layer", k.insert_layer},
        {"k_pred", k.k_pred},
        {"n_concepts", k.n_concepts},
        {"n_embd", model.n_embd},
        {"tensors", names},
        {"hf_forward_is_cocomix_forward", result.same_forward},
        {"note", result.same_forward
                     ? "model.safetensors alone gives this checkpoint's logits (nothing is inserted at insert_layer)"
                     : "model.safetensors holds the student's GPT weights; the CoCoMix forward inserts a vector per "
                       "token at block insert_layer, so GPT2LMHeadModel on these weights is NOT this model "
                       "(see docs/convert.md)"}};
    if (mode.hidden_target)  // c = compressor(c_proj(GELU_erf(c_fc(h)))) instead of the concept head
      info.update({{"teacher_layer", k.teacher_layer},
                   {"teacher_n_embd", k.teacher_n_embd},
                   {"hidden_mlp_width", k.hidden_width(model.n_embd)},
                   {"hidden_activation", "gelu"}});
    if (mode.pause_vector())  // "token": the slot after token t is pause.vector + wpe[t]
      info["pause_position"] = name_of(k.pause_position);
    save_safetensors_atomically((out / kConceptExportWeightsFile).string(), extra, kPytorchMetadata);
    write_file_atomically((out / kConceptExportInfoFile).string(), info.dump(2) + "\n");
    result.concept_files = true;
  }
  return result;
}

std::string import_hugging_face(const std::string& hf_dir, const std::string& out_dir) {
  checkpoint_to_resume(out_dir, /*resume=*/false, "--out");  // never overwrite a run
  GPT model = load_hugging_face_gpt2(hf_dir);
  Config config;
  config.source = (fs::path(hf_dir) / kHuggingFaceConfigFile).string();
  config.model = model->config();
  config.data.seq_len = std::min(config.data.seq_len, config.model.n_positions);
  config.validate();

  CheckpointContents contents;
  contents.model = gpt_state_dict(*model);  // fp32
  contents.config = config_to_json(config);
  contents.trainer_state = {{"step", 0}, {"tokens_seen", 0}, {"imported_from", fs::absolute(hf_dir).string()}};
  return save_checkpoint((fs::path(out_dir) / "checkpoints").string(), 0, contents, /*keep_last=*/1);
}

}  // namespace cocomix
