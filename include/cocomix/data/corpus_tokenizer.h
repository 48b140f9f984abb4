// cocomix-tokenize's corpus mode: reads the documents of text / JSON-lines inputs
// (data/document_reader.h), encodes them on every core, appends end-of-text after
// each, and writes the seeded train/val split as llm.c shards
// (data/sharded_token_writer.h) plus manifest.json. An interrupted run resumes
// from its last complete shard. No LibTorch here.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cocomix/data/document_reader.h"
#include "cocomix/data/gpt2_tokenizer.h"

namespace cocomix {

/// What the corpus is encoded with.
struct CorpusEncoder {
  std::string name;  ///< manifest "tokenizer"
  int64_t vocab_size = 0;
  uint32_t end_of_text = 0;  ///< appended after every document
  /// Appends the ids of one document's text; called from several threads at once.
  std::function<void(std::string_view text, std::vector<uint32_t>& ids)> encode;
  std::vector<std::string> files;  ///< tokenizer files, recorded with their sha256
};

/// The GPT-2 tokenizer as used for OpenWebText: encode_ordinary per document
/// ("<|endoftext|>" inside a text is plain text), end-of-text 50256 after it.
CorpusEncoder gpt2_corpus_encoder(const Gpt2Tokenizer& tokenizer);

struct CorpusOptions {
  std::vector<std::string> inputs;  ///< files or directories (expand_inputs)
  std::string out_dir;
  DocumentReaderOptions reader;
  uint64_t seed = 1337;              ///< of the train/val split
  double val_fraction = 0.05;        ///< share of documents in val, in [0, 1) (ValidationSplit::by_fraction)
  int64_t val_documents = -1;        ///< >= 0: exactly this many val documents instead (counted in a first pass)
  int64_t shard_tokens = 100000000;  ///< tokens per shard file
  int threads = 0;                   ///< encoding threads; 0 = every available core
  double progress_seconds = 2;       ///< seconds between progress lines; <= 0: none
};

struct CorpusSummary {
  nlohmann::json manifest;        ///< as written to OUT/manifest.json
  bool already_complete = false;  ///< OUT held a complete corpus of the same settings: nothing was done
  bool resumed = false;           ///< continued from the complete shards of an interrupted run
  int64_t text_bytes = 0;         ///< document text encoded by this run
  double seconds = 0;
};

/// Tokenizes the corpus into options.out_dir: {train,val}_NNNNNN.bin (llm.c
/// uint16 shards), then manifest.json, written last. progress.json records the
/// complete shards while running, so that a re-run with the same settings resumes
/// after them; a re-run with other settings removes the old shards and starts
/// over. Throws RuntimeError naming the file for unreadable input, bad rows (unless
/// skip_bad) and unwritable output, UsageError for impossible options.
CorpusSummary tokenize_corpus(const CorpusEncoder& encoder, const CorpusOptions& options);

}  // namespace cocomix
