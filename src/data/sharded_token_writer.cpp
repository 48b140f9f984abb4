// ShardedTokenWriter: cuts the token stream at every shard_tokens tokens and
// records, for each finished shard, the (document, token) position where the
// next shard starts, which is what a resumed run needs.
#include "cocomix/data/sharded_token_writer.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "cocomix/util/error.h"

namespace cocomix {

ShardedTokenWriter::ShardedTokenWriter(std::string dir, std::string split, int64_t shard_tokens,
                                       std::vector<Shard> done)
    : dir_(std::move(dir)), split_(std::move(split)), shard_tokens_(shard_tokens), shards_(std::move(done)) {
  if (shard_tokens < 1 || shard_tokens > std::numeric_limits<int32_t>::max())
    throw UsageError("shard size must be in [1, 2147483647] tokens (an llm.c header count is an int32), got " +
                     std::to_string(shard_tokens));
}

std::string ShardedTokenWriter::shard_name(const std::string& split, int64_t index) {
  char name[64];
  std::snprintf(name, sizeof name, "_%06lld.bin", static_cast<long long>(index));
  return split + name;
}

int64_t ShardedTokenWriter::tokens() const {
  int64_t total = open_ ? open_->count() : 0;
  for (const auto& shard : shards_) total += shard.tokens;
  return total;
}

void ShardedTokenWriter::write(int64_t document, const uint32_t* ids, size_t count, int64_t first) {
  size_t at = 0;
  while (at < count) {
    if (!open_) {
      const std::string name = shard_name(split_, static_cast<int64_t>(shards_.size()));
      open_ = std::make_unique<TokenFileWriter>(dir_ + "/" + name, TokenFormat::kLlmc);
    }
    const auto room = static_cast<size_t>(shard_tokens_ - open_->count());
    const size_t take = std::min(room, count - at);
    open_->write(ids + at, take);
    at += take;
    if (open_->count() == shard_tokens_) close_shard(document, first + static_cast<int64_t>(at));
  }
}

void ShardedTokenWriter::finish() {
  if (!open_ || open_->count() == 0) {
    open_.reset();
    return;
  }
  close_shard(-1, 0);  // the last shard: nothing follows
}

void ShardedTokenWriter::close_shard(int64_t next_document, int64_t next_token) {
  open_->finish();
  const std::string name = shard_name(split_, static_cast<int64_t>(shards_.size()));
  shards_.push_back({name, open_->count(), next_document, next_token});
  open_.reset();
  if (on_shard_finished) on_shard_finished(shards_.back());
}

}  // namespace cocomix
