// cocomix-tokenize: turns documents into llm.c uint16 token shards. Three modes:
// the synthetic concept corpus or text files with the byte tokenizer (DIR/train.bin,
// val.bin, documents.jsonl, manifest.json); a corpus of text / JSON-lines files
// with the GPT-2 tokenizer of --tokenizer DIR (sharded, on every core,
// resumable); and --raw, the bare ids of one file. docs/file-formats.md describes
// every output.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/data/byte_tokenizer.h"
#include "cocomix/data/corpus_tokenizer.h"
#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/synthetic_corpus.h"
#include "cocomix/data/token_file.h"
#include "cocomix/data/train_val_split.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/input_file.h"
#include "cocomix/util/log.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

struct Options {
  bool synthetic = false;
  int64_t documents = 0;
  uint64_t seed = 1337;
  double val_fraction = 0.05;
  int64_t val_documents = -1;
  std::string tokenizer = ByteTokenizer::kName;
  std::string out;
  std::string raw;
  std::vector<std::string> files;
  DocumentReaderOptions reader;
  int64_t shard_tokens = 100000000;
  int threads = 0;
};

bool is_byte_tokenizer(const Options& options) { return options.tokenizer == ByteTokenizer::kName; }

CorpusEncoder make_encoder(const std::string& name) {
  if (name == ByteTokenizer::kName)
    return {name,
            ByteTokenizer::kVocabSize,
            ByteTokenizer::kEndOfText,
            [](std::string_view text, std::vector<uint32_t>& ids) {
              const auto bytes = ByteTokenizer().encode(std::string(text));
              ids.insert(ids.end(), bytes.begin(), bytes.end());
            },
            {}};
  if (!std::filesystem::is_directory(name))
    throw UsageError("--tokenizer: \"" + name + "\" is neither \"bytes\" nor a directory of GPT-2 tokenizer files");
  return gpt2_corpus_encoder(Gpt2Tokenizer::load(name));
}

/// One input document of the byte-tokenizer modes: its text and what documents.jsonl records.
struct Document {
  std::string text;
  json record;
};

void check_options(const Options& options) {
  if (!options.raw.empty()) {
    if (options.synthetic || !options.files.empty())
      throw UsageError("--raw INPUT takes one input file and neither --synthetic nor FILEs");
    return;
  }
  if (options.synthetic && !options.files.empty()) throw UsageError("--synthetic takes no input FILEs");
  if (options.synthetic && options.documents < 1) throw UsageError("--synthetic needs --documents N with N >= 1");
  if (!options.synthetic && options.files.empty())
    throw UsageError("give text FILEs to tokenize, or --synthetic --documents N");
  if (!options.synthetic && options.documents != 0) throw UsageError("--documents applies only with --synthetic");
  if (options.synthetic && !is_byte_tokenizer(options))
    throw UsageError("--synthetic uses the byte tokenizer (drop --tokenizer)");
  if (!(options.val_fraction >= 0 && options.val_fraction < 1))
    throw UsageError("--val-fraction must be in [0, 1), got " + json(options.val_fraction).dump());
  if (is_byte_tokenizer(options) && (options.val_documents >= 0 || options.reader.blocks || options.reader.skip_bad))
    throw UsageError("--val-documents, --blocks and --skip-bad apply to corpora (--tokenizer DIR)");
  if (is_byte_tokenizer(options))
    for (const auto& file : options.files)
      if (!std::filesystem::is_regular_file(file))
        throw UsageError(file + ": the byte tokenizer takes regular files (directories need --tokenizer DIR)");
}

/// --raw: the ids of one file, read as one document, as headerless uint16, no end-of-text.
int tokenize_raw(const Options& options, const CorpusEncoder& encoder) {
  const std::string text = InputFile(options.raw).read_all();
  std::vector<uint32_t> ids;
  encoder.encode(text, ids);
  write_token_file(options.out, ids, TokenFormat::kU16);
  std::printf("cocomix-tokenize: %s -> %s (%zu tokens, headerless uint16, tokenizer %s)\n", options.raw.c_str(),
              options.out.c_str(), ids.size(), encoder.name.c_str());
  return kExitOk;
}

/// --tokenizer DIR: a sharded, resumable corpus (data/corpus_tokenizer.h).
int tokenize_corpus_files(const Options& options, const CorpusEncoder& encoder) {
  CorpusOptions corpus;
  corpus.inputs = options.files;
  corpus.out_dir = options.out;
  corpus.reader = options.reader;
  corpus.seed = options.seed;
  corpus.val_fraction = options.val_fraction;
  corpus.val_documents = options.val_documents;
  corpus.shard_tokens = options.shard_tokens;
  corpus.threads = options.threads;
  const CorpusSummary summary = tokenize_corpus(encoder, corpus);
  const json& m = summary.manifest;
  const json& train = m["splits"]["train"];
  const json& val = m["splits"]["val"];
  const double mb_per_second = summary.seconds > 0 ? summary.text_bytes / summary.seconds / 1e6 : 0;
  std::printf(
      "cocomix-tokenize: %s%lld documents -> %s (train: %lld documents, %lld tokens, %zu shards; val: %lld "
      "documents, %lld tokens, %zu shards; %lld bad rows skipped; tokenizer %s; %.1f MB/s)\n",
      summary.already_complete ? "already complete: " : (summary.resumed ? "resumed: " : ""),
      m["documents"].get<long long>(), options.out.c_str(), train["documents"].get<long long>(),
      train["tokens"].get<long long>(), train["shards"].size(), val["documents"].get<long long>(),
      val["tokens"].get<long long>(), val["shards"].size(), m["skipped_rows"].get<long long>(), encoder.name.c_str(),
      mb_per_second);
  return kExitOk;
}

/// The byte tokenizer's layout: one train.bin and val.bin, documents.jsonl.
int tokenize_documents(const Options& options, const CorpusEncoder& encoder) {
  const std::filesystem::path dir(options.out);
  ensure_writable_directory(options.out);
  // A manifest marks a complete directory: drop an old one before rewriting its files.
  std::filesystem::remove(dir / "manifest.json");

  const int64_t count = options.synthetic ? options.documents : static_cast<int64_t>(options.files.size());
  const auto document = [&](int64_t index) -> Document {
    if (options.synthetic) {
      auto generated = generate_synthetic_document(options.seed, index);
      return {std::move(generated.text), {{"hidden", std::move(generated.hidden)}}};
    }
    const auto& path = options.files[static_cast<size_t>(index)];
    return {InputFile(path).read_all(), {{"source", path}}};
  };
  const ValidationSplit split_rule = ValidationSplit::by_fraction(options.seed, options.val_fraction);

  const char* kSplits[2] = {"train", "val"};
  TokenFileWriter train((dir / "train.bin").string()), val((dir / "val.bin").string());
  TokenFileWriter* writers[2] = {&train, &val};
  int64_t documents[2] = {0, 0};
  std::string jsonl;  // documents.jsonl, written atomically once the shards are complete

  std::vector<uint32_t> ids;
  for (int64_t index = 0; index < count; ++index) {
    Document doc = document(index);
    ids.clear();
    encoder.encode(doc.text, ids);
    ids.push_back(encoder.end_of_text);
    const int split = split_rule.is_validation(index) ? 1 : 0;
    json record = {{"index", index},
                   {"split", kSplits[split]},
                   {"offset", writers[split]->count()},
                   {"tokens", static_cast<int64_t>(ids.size())}};
    record.update(doc.record);
    writers[split]->write(ids);
    ++documents[split];
    jsonl += record.dump() + '\n';
  }
  train.finish();
  val.finish();
  write_file_atomically((dir / "documents.jsonl").string(), jsonl);
  if (options.synthetic)
    write_file_atomically((dir / "vocabulary.json").string(), synthetic_vocabulary().dump(2) + "\n");

  json manifest = {{"tokenizer", encoder.name},
                   {"vocab_size", encoder.vocab_size},
                   {"end_of_text", encoder.end_of_text},
                   {"format", token_format_name(TokenFormat::kLlmc)},
                   {"source", options.synthetic ? "synthetic" : "files"},
                   {"seed", options.seed},
                   {"val_fraction", options.val_fraction},
                   {"documents", count},
                   {"splits", json::object()}};
  for (int split = 0; split < 2; ++split)
    manifest["splits"][kSplits[split]] = {{"file", std::string(kSplits[split]) + ".bin"},
                                          {"tokens", writers[split]->count()},
                                          {"documents", documents[split]}};
  write_file_atomically((dir / "manifest.json").string(), manifest.dump(2) + "\n");

  std::printf(
      "cocomix-tokenize: %lld documents -> %s (train: %lld documents, %lld tokens; val: %lld documents, %lld "
      "tokens; tokenizer %s, vocab_size %lld)\n",
      static_cast<long long>(count), options.out.c_str(), static_cast<long long>(documents[0]),
      static_cast<long long>(train.count()), static_cast<long long>(documents[1]), static_cast<long long>(val.count()),
      encoder.name.c_str(), static_cast<long long>(encoder.vocab_size));
  return kExitOk;
}

int tokenize(const Options& options) {
  check_options(options);
  const CorpusEncoder encoder = make_encoder(options.tokenizer);
  if (!options.raw.empty()) return tokenize_raw(options, encoder);
  if (!is_byte_tokenizer(options)) return tokenize_corpus_files(options, encoder);
  return tokenize_documents(options, encoder);
}

}  // namespace
}  // namespace cocomix

int main(int argc, char** argv) {
  return cocomix::run_app([&] {
    cocomix::Options options;
    CLI::App app("Tokenize documents into train/val token files (llm.c uint16 shards).", "cocomix-tokenize");
    app.add_flag("--synthetic", options.synthetic, "Generate the synthetic concept corpus instead of reading FILEs");
    app.add_option("--documents", options.documents, "Number of synthetic documents");
    app.add_option("--seed", options.seed, "Seed of the synthetic corpus and of the train/val split")
        ->capture_default_str();
    app.add_option("--val-fraction", options.val_fraction, "Expected fraction of documents in val, in [0, 1)")
        ->capture_default_str();
    app.add_option("--val-documents", options.val_documents,
                   "Exactly this many validation documents instead of --val-fraction (corpora)")
        ->check(cocomix::non_negative());
    app.add_option("--tokenizer", options.tokenizer,
                   "bytes (ids 0..255, end-of-text 256), or a directory with GPT-2's encoder.json + vocab.bpe "
                   "(or vocab.json + merges.txt)")
        ->capture_default_str();
    app.add_option("-o,--out", options.out, "Output directory (the output file with --raw)")->required();
    app.add_option("--raw", options.raw, "Write the bare ids of this one file (headerless uint16, no end-of-text)")
        ->check(CLI::ExistingFile);
    app.add_option("--text-field", options.reader.text_field, "The text field of .jsonl rows")->capture_default_str();
    app.add_flag("--blocks", options.reader.blocks,
                 "Text files: one document per blank-line-separated block (default: per file)");
    app.add_flag("--skip-bad", options.reader.skip_bad,
                 "Skip and count .jsonl rows that are not JSON or lack the text field (default: error)");
    app.add_option("--shard-tokens", options.shard_tokens, "Tokens per shard (corpora)")->capture_default_str();
    app.add_option("--threads", options.threads, "Encoding threads; 0 = every available core")
        ->capture_default_str()
        ->check(cocomix::non_negative());
    app.add_option("files", options.files,
                   "Inputs: text files (one document each), .jsonl files (one per row), directories of them; "
                   ".gz / .zst compressed too")
        ->check(CLI::ExistingPath);
    if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
    return cocomix::tokenize(options);
  });
}
