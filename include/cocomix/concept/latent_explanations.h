// The per-latent explanations `cocomix-sae explain` writes (one JSON file):
// each SAE latent's density, activation statistics and the text snippets that
// activate it most. The types the dashboard fills, and the reader that lets
// other tools show what a concept is.
//   {"n_latents": C, "latents": [{"id": i, "density": f, "mean_activation": f,
//     "max_activation": f, "top": [{"activation": a, "index": n, "before": "text",
//     "token": "text", "after": "text"}]}]}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cocomix {

/// One context where a latent fires: the token and the text around it.
struct ExplainedSnippet {
  double activation = 0;
  int64_t index = 0;  ///< the token's position in the token file
  std::string before;  ///< the tokens before it (fewer at the file's start)
  std::string token;
  std::string after;  ///< the tokens after it (fewer at the end of what was read)
};

/// What one latent does over the tokens read (cocomix-sae explain writes it,
/// concept/latent_dashboard.h). A dead latent has density 0 and no snippets.
struct ExplainedLatent {
  int64_t id = -1;                    ///< -1: the file has no entry for this latent
  double density = 0;                 ///< share of the tokens on which it fires
  double mean_activation = 0;         ///< mean z over those tokens (0 when dead)
  double max_activation = 0;          ///< 0 when dead
  std::vector<ExplainedSnippet> top;  ///< highest z first; equal z: the lower index first
};

struct LatentExplanations {
  std::string path;
  int64_t n_latents = 0;
  std::vector<ExplainedLatent> latents;  ///< [n_latents] indexed by id
};

/// Reads and checks the file: ids in [0, n_latents), each at most once.
/// Throws UsageError "FLAG: PATH: WHAT" (flag: the option that named the file).
LatentExplanations read_latent_explanations(const std::string& path, const std::string& flag);

/// Throws UsageError "FLAG: PATH: n_latents ... differs from the concept head's C"
/// unless `explanations` describe the `n_concepts` concepts of the checkpoint in
/// `checkpoint_dir` (its concepts are the latents of the SAE it was trained with).
void check_latent_count(const LatentExplanations& explanations, int64_t n_concepts, const std::string& checkpoint_dir,
                        const std::string& flag);

/// "...before[token]after..." on one line (newlines and tabs shown as \n, \t),
/// at most `context_bytes` of text on each side, never splitting a UTF-8 character.
std::string one_line_snippet(const ExplainedSnippet& snippet, size_t context_bytes = 30);

}  // namespace cocomix
