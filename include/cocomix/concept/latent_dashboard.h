// What each SAE latent (concept) means: a token file streamed through the teacher
// and the SAE keeps, per latent, its N highest activations with the text around
// them, how often it fires and its mean and max activation. Memory is C x N kept
// entries whatever the file size. The page of it: concept/latent_dashboard_page.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/concept/latent_explanations.h"
#include "cocomix/concept/sae.h"
#include "cocomix/data/text_codec.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// How explain_latents reads the file and what it keeps.
struct LatentDashboardOptions {
  int64_t top = 10;             ///< N: activations kept per latent
  int64_t context_before = 12;  ///< tokens of text shown before the activating token
  int64_t context_after = 4;    ///< tokens of text shown after it
  int64_t seq_len = 64;         ///< T: tokens per window through the teacher
  int64_t batch = 16;           ///< windows per forward
  int64_t max_tokens = 0;       ///< read only the first this many tokens (0: the whole file)
};

/// Every latent of an SAE over a token file, in id order.
struct LatentDashboard {
  int64_t layer = 0;
  int64_t n_latents = 0;
  int64_t k = 0;
  int64_t tokens = 0;  ///< tokens read (each encoded once)
  int64_t top = 0;     ///< N asked for
  /// A latent fires on a token when TopK kept it with z > kLatentFiredThreshold.
  std::vector<ExplainedLatent> latents;
};

/// Reads the first `max_tokens` tokens of `file` (all when 0) as consecutive
/// windows of seq_len (the last may be shorter; a token's activations come from
/// its own window), encodes the teacher's residual after block sae.info().layer
/// and keeps every latent's summary; a second pass over the kept positions only
/// decodes their text with `codec`. Throws UsageError for options out of range
/// or an SAE that does not fit the teacher, RuntimeError for a token id outside
/// the teacher's vocabulary.
LatentDashboard explain_latents(GPTImpl& teacher, TopKSaeImpl& sae, const TokenCorpus& corpus, const TextCodec& codec,
                                const LatentDashboardOptions& options);

/// The latents.json document (docs/concepts.md): the three inputs as given, the
/// dashboard's sizes and every latent.
nlohmann::json latent_dashboard_json(const LatentDashboard& dashboard, const std::string& sae_dir,
                                     const std::string& teacher_dir, const std::string& data_path);

/// Writes OUT_DIR/latents.json and OUT_DIR/index.html (the page) atomically.
void write_latent_dashboard(const nlohmann::json& document, const std::string& out_dir);

/// What cocomix-sae explain is asked for.
struct ExplainCommand {
  std::string sae_dir;        ///< --sae
  std::string teacher_dir;    ///< --teacher
  std::string data_path;      ///< --data
  std::string out_dir;        ///< -o
  std::string tokenizer_dir;  ///< --tokenizer ("" = bytes for 257 ids, else the data's recorded GPT-2 tokenizer)
  TokenFormat format = TokenFormat::kAuto;
  LatentDashboardOptions options;
};

/// cocomix-sae explain: checks the options and inputs (UsageError naming the flag
/// or file, before anything is written), loads the SAE and its teacher, runs
/// explain_latents and writes the dashboard. Returns the latents.json document.
nlohmann::json explain_sae_latents(const ExplainCommand& command);

}  // namespace cocomix
