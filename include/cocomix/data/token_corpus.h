// The token files one flag or config path names, as one corpus: a single
// token file, a directory written by cocomix-tokenize (its manifest.json lists
// the split's shards and their token counts), or a glob (its matches in sorted
// order). Opening reads each shard's header only, never its tokens, and checks
// that the shards agree before any work starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cocomix/data/token_file.h"

namespace cocomix {

/// One shard of a corpus and what its header says.
struct TokenShard {
  std::string path;
  TokenFileLayout layout;
};

class TokenCorpus {
 public:
  /// Resolves `spec` for `split` ("train" or "val": which of a directory's
  /// splits). Throws RuntimeError naming the path and the reason for: a path
  /// that does not exist, a directory without manifest.json or without shards
  /// of `split`, a manifest that names a missing shard or one whose token count
  /// differs from the manifest's (a truncated shard), a glob that matches
  /// nothing, shards of different token widths, and shards whose directories'
  /// manifests name different tokenizers or vocabularies.
  static TokenCorpus open(const std::string& spec, const std::string& split, TokenFormat format = TokenFormat::kAuto);

  const std::string& spec() const { return spec_; }
  const std::vector<TokenShard>& shards() const { return shards_; }
  /// Tokens of every shard together.
  int64_t size() const { return size_; }

 private:
  std::string spec_;
  std::vector<TokenShard> shards_;
  int64_t size_ = 0;
};

}  // namespace cocomix
