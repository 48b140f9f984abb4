// cocomix-tokenize: turns documents (the synthetic concept corpus, or text files,
// one document per file) into DIR/train.bin and DIR/val.bin (llm.c uint16
// shards, end-of-text after every document), DIR/documents.jsonl and, written
// last, DIR/manifest.json. docs/file-formats.md describes every output.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/data/byte_tokenizer.h"
#include "cocomix/data/synthetic_corpus.h"
#include "cocomix/data/token_file.h"
#include "cocomix/data/window_sampler.h"
#include "cocomix/util/app.h"
#include "cocomix/util/cli.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

struct Options {
  bool synthetic = false;
  int64_t documents = 0;
  uint64_t seed = 1337;
  double val_fraction = 0.05;
  std::string tokenizer = ByteTokenizer::kName;
  std::string out;
  std::vector<std::string> files;
};

/// The tokenizer the run uses; one entry per supported --tokenizer.
struct Tokenizer {
  std::string name;
  int64_t vocab_size;
  uint32_t end_of_text;
  std::function<std::vector<uint32_t>(const std::string&)> encode;
};

Tokenizer make_tokenizer(const std::string& name) {
  if (name == ByteTokenizer::kName)
    return {name, ByteTokenizer::kVocabSize, ByteTokenizer::kEndOfText,
            [](const std::string& text) { return ByteTokenizer().encode(text); }};
  throw UsageError("--tokenizer: unknown tokenizer \"" + name + "\" (expected bytes)");
}

/// One input document: its text and what documents.jsonl records about it.
struct Document {
  std::string text;
  json record;
};

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeError(path + ": cannot open for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw RuntimeError(path + ": read failed");
  return text;
}

/// Document `index` goes to val iff u < val_fraction, u = the top 53 bits of
/// splitmix64(stream_seed(seed, index)) / 2^53 (see docs/file-formats.md).
bool is_validation(uint64_t seed, int64_t index, double val_fraction) {
  const uint64_t hash = splitmix64(stream_seed(seed, static_cast<uint64_t>(index)));
  return static_cast<double>(hash >> 11) * 0x1.0p-53 < val_fraction;
}

void check_options(const Options& options) {
  if (options.synthetic && !options.files.empty()) throw UsageError("--synthetic takes no input FILEs");
  if (options.synthetic && options.documents < 1) throw UsageError("--synthetic needs --documents N with N >= 1");
  if (!options.synthetic && options.files.empty())
    throw UsageError("give text FILEs to tokenize, or --synthetic --documents N");
  if (!options.synthetic && options.documents != 0) throw UsageError("--documents applies only with --synthetic");
  if (!(options.val_fraction >= 0 && options.val_fraction < 1))
    throw UsageError("--val-fraction must be in [0, 1), got " + json(options.val_fraction).dump());
}

int tokenize(const Options& options) {
  check_options(options);
  const Tokenizer tokenizer = make_tokenizer(options.tokenizer);
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
    return {read_text_file(path), {{"source", path}}};
  };

  const char* kSplits[2] = {"train", "val"};
  TokenFileWriter train((dir / "train.bin").string()), val((dir / "val.bin").string());
  TokenFileWriter* writers[2] = {&train, &val};
  int64_t documents[2] = {0, 0};
  const std::string jsonl_path = (dir / "documents.jsonl").string();
  std::ofstream jsonl(jsonl_path + ".tmp", std::ios::binary | std::ios::trunc);
  if (!jsonl) throw RuntimeError(jsonl_path + ".tmp: cannot open for writing");

  for (int64_t index = 0; index < count; ++index) {
    Document doc = document(index);
    std::vector<uint32_t> ids = tokenizer.encode(doc.text);
    ids.push_back(tokenizer.end_of_text);
    const int split = is_validation(options.seed, index, options.val_fraction) ? 1 : 0;
    json record = {{"index", index},
                   {"split", kSplits[split]},
                   {"offset", writers[split]->count()},
                   {"tokens", static_cast<int64_t>(ids.size())}};
    record.update(doc.record);
    writers[split]->write(ids);
    ++documents[split];
    jsonl << record.dump() << '\n';
  }
  jsonl.close();
  if (!jsonl) throw RuntimeError(jsonl_path + ".tmp: write failed (disk full?)");
  train.finish();
  val.finish();
  fsync_file(jsonl_path + ".tmp");
  std::filesystem::rename(jsonl_path + ".tmp", jsonl_path);
  fsync_parent_directory(jsonl_path);

  json manifest = {{"tokenizer", tokenizer.name},
                   {"vocab_size", tokenizer.vocab_size},
                   {"end_of_text", tokenizer.end_of_text},
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
      tokenizer.name.c_str(), static_cast<long long>(tokenizer.vocab_size));
  return kExitOk;
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
    app.add_option("--val-fraction", options.val_fraction, "Expected fraction of documents in val.bin, in [0, 1)")
        ->capture_default_str();
    app.add_option("--tokenizer", options.tokenizer, "Tokenizer: bytes (ids 0..255, end-of-text 256)")
        ->capture_default_str();
    app.add_option("-o,--out", options.out, "Output directory")->required();
    app.add_option("files", options.files, "Text files to tokenize, one document per file")->check(CLI::ExistingFile);
    if (const auto code = cocomix::parse_command_line(app, argc, argv)) return *code;
    return cocomix::tokenize(options);
  });
}
