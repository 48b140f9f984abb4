// The GPT-2 tokenizer a run was trained with, found from its data: the
// manifest.json that cocomix-tokenize writes beside the token files records the
// tokenizer files and their sha256.
#pragma once

#include <optional>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/data/gpt2_tokenizer.h"

namespace cocomix {

/// The GPT-2 tokenizer the manifest.json of a training corpus (or of data.val_path)
/// records with its sha256, when the files are still there unchanged (a warning
/// names a missing or changed one); nullopt when no manifest names one.
std::optional<Gpt2Tokenizer> recorded_gpt2_tokenizer(const Config& config);

/// The same for one corpus (a token file, a directory or a glob): the GPT-2
/// tokenizer its manifest.json records (unchanged), nullopt when there is none.
std::optional<Gpt2Tokenizer> recorded_gpt2_tokenizer_of(const std::string& token_file);

}  // namespace cocomix
