// One split's tokens written as llm.c uint16 shards of a fixed size,
// DIR/{split}_{000000..}.bin, each through TokenFileWriter (PATH.tmp, renamed
// when complete). Documents may continue from one shard into the next, as in
// llm.c's shards. No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cocomix/data/token_file.h"

namespace cocomix {

class ShardedTokenWriter {
 public:
  /// A finished shard, and where the split's token stream continues after it.
  struct Shard {
    std::string file;           ///< name inside the directory, e.g. "train_000003.bin"
    int64_t tokens = 0;         ///< tokens in this shard
    int64_t next_document = 0;  ///< the shard ends inside or right after document next_document ...
    int64_t next_token = 0;     ///< ... having taken its first next_token tokens
  };

  /// Shards of at most `shard_tokens` (1 .. 2^31-1) tokens, numbered from
  /// `done.size()`: the shards of an earlier run being resumed.
  ShardedTokenWriter(std::string dir, std::string split, int64_t shard_tokens, std::vector<Shard> done = {});

  /// "{split}_{index:06d}.bin".
  static std::string shard_name(const std::string& split, int64_t index);

  /// Appends tokens [first, first + count) of document `document` (ids of that
  /// document start at token index 0; `first` > 0 when resuming inside it).
  void write(int64_t document, const uint32_t* ids, size_t count, int64_t first = 0);
  /// Finishes the open shard, if it holds any tokens.
  void finish();

  /// Called after each shard is complete under its final name.
  std::function<void(const Shard&)> on_shard_finished;

  const std::vector<Shard>& shards() const { return shards_; }
  /// Tokens in finished shards and the open one.
  int64_t tokens() const;

 private:
  /// Finishes the open shard and records it, with where the next shard starts.
  void close_shard(int64_t next_document, int64_t next_token);

  std::string dir_, split_;
  int64_t shard_tokens_;
  std::vector<Shard> shards_;
  std::unique_ptr<TokenFileWriter> open_;
};

}  // namespace cocomix
