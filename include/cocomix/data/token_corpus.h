// The token files one flag or config path names, as one corpus: a single
// token file, a directory written by cocomix-tokenize (its manifest.json lists
// the split's shards and their token counts), or a glob (its matches in sorted
// order). Opening reads each shard's header only, never its tokens, and checks
// that the shards agree before any work starts. Reading addresses the corpus as
// its shards laid end to end; a shard is mapped when first read, and at most
// kMaxOpenShards stay mapped (least recently used goes first), so a corpus of
// thousands of shards costs a few open files; the maps read ahead as `access`
// says (a sampler's shuffled windows: kRandom).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/data/token_file.h"

namespace cocomix {

/// One shard of a corpus and what its header says.
struct TokenShard {
  std::string path;
  TokenFileLayout layout;
};

/// The manifest.json that describes the corpus `spec` names: DIR/manifest.json
/// for a directory, else the one beside the file (or beside a glob's matches);
/// "" when there is none.
std::string corpus_manifest_path(const std::string& spec);

class TokenCorpus {
 public:
  /// Resolves `spec` for `split` ("train" or "val": which of a directory's
  /// splits). Throws RuntimeError naming the path and the reason for: a path
  /// that does not exist, a directory without manifest.json or without shards
  /// of `split`, a manifest that names a missing shard or one whose token count
  /// differs from the manifest's (a truncated shard), a glob that matches
  /// nothing, shards of different token widths, and shards whose directories'
  /// manifests name different tokenizers or vocabularies. `access`: how the
  /// shards' maps will be read (TokenAccess).
  static TokenCorpus open(const std::string& spec, const std::string& split, TokenFormat format = TokenFormat::kAuto,
                          TokenAccess access = TokenAccess::kSequential);

  const std::string& spec() const { return spec_; }
  const std::vector<TokenShard>& shards() const { return shards_; }
  /// Each shard's token count, in order.
  std::vector<int64_t> shard_tokens() const;
  /// Tokens of every shard together.
  int64_t size() const { return size_; }
  /// The tokenizer the shards' manifest.json records, as "\"gpt2\" vocab_size
  /// 50257 end_of_text 50256" (its "tokenizer", "vocab_size" and "end_of_text"
  /// fields); "" when the shards have no manifest beside them.
  const std::string& tokenizer() const { return tokenizer_; }

  /// The shard holding corpus token `index` (in [0, size())).
  size_t shard_of(int64_t index) const;
  /// Corpus index of shard `shard`'s first token.
  int64_t shard_begin(size_t shard) const { return begins_.at(shard); }
  /// "PATH" for a one-shard corpus, "PATH (token 12 of the shard)" otherwise:
  /// where corpus token `index` is, for error messages.
  std::string locate(int64_t index) const;

  /// Copies corpus tokens [begin, begin + count) widened to int64 into out[0..count).
  /// Throws RuntimeError naming the shard when the range leaves the corpus or
  /// crosses from one shard into the next. Safe to call from several threads.
  void read(int64_t begin, int64_t count, int64_t* out) const;

  /// Shards kept mapped at once.
  static constexpr size_t kMaxOpenShards = 8;

 private:
  class MappedShards;  // the least-recently-used maps; shared by copies

  std::string spec_;
  std::vector<TokenShard> shards_;
  std::vector<int64_t> begins_;  ///< corpus index of each shard's first token
  int64_t size_ = 0;
  std::string tokenizer_;
  TokenAccess access_ = TokenAccess::kSequential;
  std::shared_ptr<MappedShards> mapped_;
};

/// What a run records to recognise its data later: [{"file": NAME, "tokens": N},
/// ...] per shard in order, NAME the shard's file name (so a corpus that moved
/// still matches).
nlohmann::json shard_list(const TokenCorpus& corpus);

/// "" when the two shard lists are equal, else one line naming the first
/// difference, as "shard 3: tokens 100000 then, 99000 now" or "5 shards then, 6
/// now (train_000005.bin is new)". Entries may carry more fields than shard_list
/// writes (a label cache adds sha256); every field of `now` is compared by name,
/// and an entry of `then` that differs only in fields `now` lacks is shown whole,
/// so that a key from a damaged file is never printed raw.
std::string shard_list_change(const nlohmann::json& then, const nlohmann::json& now);

}  // namespace cocomix
