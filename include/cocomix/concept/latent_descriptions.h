// Reading what each SAE latent means: the latents.json that `cocomix-sae
// explain` writes (docs/concepts.md), for tools that label concept ids with
// their top-activating snippets (cocomix-generate --explain, cocomix-inspect).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cocomix {

/// One top-activating context of a latent.
struct LatentSnippet {
  double activation = 0;
  std::string before, token, after;  ///< text around the token, the token, text after it
};

struct LatentDescription {
  double density = 0;              ///< share of tokens where the latent is kept
  std::vector<LatentSnippet> top;  ///< descending activation
};

/// Every latent's description, indexed by id (all n_latents of them). Throws
/// UsageError naming the file and field when it is missing, not JSON, or lacks
/// a field; `expected_latents` > 0 is checked against n_latents.
std::vector<LatentDescription> read_latent_descriptions(const std::string& path, int64_t expected_latents = 0);

/// "before[token]after" on one line (newlines shown as ⏎), the token bracketed.
std::string one_line_snippet(const LatentSnippet& snippet);

}  // namespace cocomix
