// cocomix-convert: Hugging Face GPT-2 directories in and out of cocomix.
// Argument parsing only; convert/hugging_face_convert.h does the work.
//   cocomix-convert export --checkpoint DIR --out HF_DIR [--tokenizer DIR]
//   cocomix-convert import --hf HF_DIR --out OUT_DIR
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cocomix/convert/hugging_face_convert.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Convert between cocomix checkpoints and Hugging Face GPT-2 directories", "cocomix-convert"};
  app.require_subcommand(1);
  std::string checkpoint, export_out, tokenizer;
  auto* to_hf = app.add_subcommand("export", "a cocomix checkpoint -> a Hugging Face GPT-2 directory");
  to_hf->add_option("--checkpoint", checkpoint, "checkpoint or run directory (its newest complete checkpoint)")
      ->required();
  to_hf->add_option("--out", export_out, "Hugging Face directory to write")->required();
  to_hf->add_option("--tokenizer", tokenizer,
                    "GPT-2 tokenizer directory (encoder.json + vocab.bpe, or vocab.json + merges.txt); default: "
                    "the files the checkpoint's data manifest records");

  std::string hf_dir, import_out;
  auto* from_hf = app.add_subcommand("import", "a Hugging Face GPT-2 directory -> a cocomix checkpoint");
  from_hf->add_option("--hf", hf_dir, "Hugging Face GPT-2 directory (config.json + model.safetensors)")->required();
  from_hf->add_option("--out", import_out, "run directory to create: OUT/checkpoints/step_00000000")->required();

  if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
  return cocomix::run_app([&] {
    if (from_hf->parsed()) {
      const std::string written = cocomix::import_hugging_face(hf_dir, import_out);
      std::printf("cocomix-convert: imported %s -> %s\n", hf_dir.c_str(), written.c_str());
      return cocomix::kExitOk;
    }
    const auto result = cocomix::export_hugging_face(checkpoint, export_out, tokenizer);
    std::printf("cocomix-convert: exported %s (mode %s, %lld GPT tensors) -> %s\n", result.checkpoint_dir.c_str(),
                result.mode.c_str(), static_cast<long long>(result.tensors), export_out.c_str());
    if (!result.tokenizer_dir.empty())
      std::printf("cocomix-convert: tokenizer files from %s\n", result.tokenizer_dir.c_str());
    if (result.concept_files)
      std::printf("cocomix-convert: concept head in %s/%s (+ %s)\n", export_out.c_str(),
                  cocomix::kConceptExportWeightsFile, cocomix::kConceptExportInfoFile);
    if (!result.same_forward)
      std::printf(
          "cocomix-convert: note: mode %s inserts a vector per token inside the model, so GPT2LMHeadModel on "
          "model.safetensors runs the student's GPT weights WITHOUT that insertion: not the CoCoMix forward "
          "(docs/convert.md)\n",
          result.mode.c_str());
    return cocomix::kExitOk;
  });
}
