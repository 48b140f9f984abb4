// A tokenized corpus directory's manifest.json: its splits, their shard files
// and token counts, and the tokenizer it records, against two real shards
// beside it (llm.c layout, 96 and 160 tokens). Every token of a corpus that
// opens is read, shard by shard.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cocomix/data/token_corpus.h"
#include "cocomix/data/token_file.h"
#include "fuzz_support.h"

namespace {

/// An llm.c shard of `tokens` uint16 tokens 0, 1, 2, ...
std::string llmc_shard(int32_t tokens) {
  std::string bytes(static_cast<size_t>(cocomix::kLlmcHeaderBytes), '\0');
  const int32_t header[3] = {cocomix::kLlmcMagicU16, 1, tokens};
  bytes.replace(0, sizeof header, reinterpret_cast<const char*>(header), sizeof header);
  for (int32_t i = 0; i < tokens; ++i) {
    const uint16_t token = static_cast<uint16_t>(i);
    bytes.append(reinterpret_cast<const char*>(&token), sizeof token);
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  static const bool shards_written = [] {
    std::filesystem::create_directories(fuzz::scratch_dir() / "corpus");
    fuzz::write_file("corpus/train_000000.bin", llmc_shard(96));
    fuzz::write_file("corpus/train_000001.bin", llmc_shard(160));
    return true;
  }();
  (void)shards_written;
  fuzz::write_file("corpus/manifest.json", {reinterpret_cast<const char*>(data), size});
  const std::string dir = (fuzz::scratch_dir() / "corpus").string();
  for (const char* split : {"train", "val"}) {
    fuzz::expect_success_or_clean_error([&] {
      const TokenCorpus corpus = TokenCorpus::open(dir, split);
      std::vector<int64_t> tokens;
      for (size_t s = 0; s < corpus.shards().size(); ++s) {
        const int64_t count = corpus.shard_tokens()[s];
        tokens.resize(static_cast<size_t>(count));
        if (count > 0) corpus.read(corpus.shard_begin(s), count, tokens.data());
      }
      (void)shard_list(corpus);
    });
  }
  return 0;
}
