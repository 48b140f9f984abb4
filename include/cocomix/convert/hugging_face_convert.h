// cocomix checkpoints <-> Hugging Face GPT-2 directories (cocomix-convert).
// Export writes what GPT2LMHeadModel / AutoTokenizer.from_pretrained read:
//   config.json                 GPT2Config (model/hugging_face.h)
//   model.safetensors           the GPT's tensors under HF names ("transformer.*"; lm_head tied, omitted)
//   vocab.json, merges.txt      GPT-2 BPE files, copied byte for byte from the tokenizer directory
//   tokenizer_config.json, special_tokens_map.json
//   cocomix_concept.safetensors, cocomix_concept.json
//                               CoCoMix-family checkpoints only: the concept head
//                               ("concept.*") and/or pause vector ("pause.vector")
//                               with insert_layer, k_pred, n_concepts, mode
// Import writes OUT/checkpoints/step_00000000, an NTP checkpoint that
// cocomix-eval, load_teacher and load_model accept. docs/convert.md.
#pragma once

#include <cstdint>
#include <string>

namespace cocomix {

inline constexpr const char* kConceptExportWeightsFile = "cocomix_concept.safetensors";
inline constexpr const char* kConceptExportInfoFile = "cocomix_concept.json";

struct HuggingFaceExport {
  std::string checkpoint_dir;  ///< the step directory exported
  std::string mode;            ///< concept.mode of the checkpoint
  int64_t tensors = 0;         ///< tensors in model.safetensors
  std::string tokenizer_dir;   ///< where vocab.json / merges.txt came from ("" = none written)
  bool concept_files = false;  ///< cocomix_concept.* written
  bool same_forward = true;    ///< GPT2LMHeadModel on model.safetensors computes the checkpoint's logits
};

/// Exports the newest complete checkpoint of `checkpoint_or_run_dir` into
/// `out_dir` (created; UsageError when it already holds model.safetensors).
/// Tokenizer files come from `tokenizer_dir`, else from the GPT-2 tokenizer
/// files that the manifest.json of a training corpus (or of data.val_path) records;
/// UsageError when the vocabulary is GPT-2's (>= 50257 ids) and neither names
/// one; a smaller vocabulary gets none, with a warning. Throws RuntimeError
/// naming the file for a checkpoint that does not load.
HuggingFaceExport export_hugging_face(const std::string& checkpoint_or_run_dir, const std::string& out_dir,
                                      const std::string& tokenizer_dir);

/// Imports the Hugging Face GPT-2 directory `hf_dir` as the checkpoint
/// OUT/checkpoints/step_00000000 (fp32 tensors, mode ntp with the model
/// section from config.json) and returns its path. UsageError when `out_dir`
/// already holds checkpoints; RuntimeError naming the file and field for a
/// config or weights file that is not a GPT-2 this library runs.
std::string import_hugging_face(const std::string& hf_dir, const std::string& out_dir);

}  // namespace cocomix
