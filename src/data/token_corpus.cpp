// TokenCorpus::open: a file, a cocomix-tokenize directory or a glob, checked shard by shard.
#include "cocomix/data/token_corpus.h"

#include <glob.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"

namespace cocomix {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool is_glob(const std::string& spec) { return spec.find_first_of("*?[") != std::string::npos; }

json read_manifest(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw RuntimeError(file.string() + ": cannot open");
  const json manifest = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) throw RuntimeError(file.string() + ": not a JSON object");
  return manifest;
}

/// A directory's shards of `split` as its manifest lists them, with the counts it records.
std::vector<std::pair<std::string, int64_t>> manifest_shards(const fs::path& dir, const std::string& split) {
  const fs::path file = dir / "manifest.json";
  if (!fs::is_regular_file(file))
    throw RuntimeError(dir.string() +
                       ": a directory without manifest.json (not written by cocomix-tokenize, or "
                       "not finished)");
  const json manifest = read_manifest(file);
  const std::string where = file.string() + ": splits." + split;
  if (!manifest.contains("splits") || !manifest["splits"].contains(split)) throw RuntimeError(where + ": missing");
  const json& entry = manifest["splits"][split];
  std::vector<std::pair<std::string, int64_t>> out;
  try {
    if (entry.contains("shards")) {  // GPT-2 corpus layout
      for (const auto& shard : entry.at("shards"))
        out.emplace_back(shard.at("file").get<std::string>(), shard.at("tokens").get<int64_t>());
    } else {  // byte-tokenizer layout: one file per split
      out.emplace_back(entry.at("file").get<std::string>(), entry.at("tokens").get<int64_t>());
    }
  } catch (const json::exception&) {
    throw RuntimeError(where + ": expected {\"shards\": [{\"file\", \"tokens\"}, ...]} or {\"file\", \"tokens\"}");
  }
  if (out.empty()) throw RuntimeError(where + ": no shards (the split has no tokens)");
  return out;
}

/// The tokenizer identity a shard's directory records, "" without a manifest.
std::string recorded_tokenizer(const fs::path& shard) {
  const fs::path file = shard.parent_path() / "manifest.json";
  if (!fs::is_regular_file(file)) return "";
  const json manifest = read_manifest(file);
  return manifest.value("tokenizer", json()).dump() + " vocab_size " + manifest.value("vocab_size", json()).dump() +
         " end_of_text " + manifest.value("end_of_text", json()).dump();
}

}  // namespace

TokenCorpus TokenCorpus::open(const std::string& spec, const std::string& split, TokenFormat format) {
  TokenCorpus corpus;
  corpus.spec_ = spec;
  if (is_glob(spec)) {
    glob_t matches{};
    const int status = ::glob(spec.c_str(), 0, nullptr, &matches);  // sorted by default
    std::vector<std::string> paths(matches.gl_pathv, matches.gl_pathv + matches.gl_pathc);
    ::globfree(&matches);
    if (status != 0 || paths.empty()) throw RuntimeError(spec + ": the glob matches no file");
    for (const auto& path : paths) {
      if (fs::is_regular_file(path)) corpus.shards_.push_back({path, probe_token_file(path, format)});
    }
    if (corpus.shards_.empty()) throw RuntimeError(spec + ": the glob matches no regular file");
  } else if (fs::is_directory(spec)) {
    for (const auto& [name, tokens] : manifest_shards(spec, split)) {
      const std::string path = (fs::path(spec) / name).string();
      if (!fs::exists(path))
        throw RuntimeError(path + ": missing (" + spec + "/manifest.json lists it in splits." + split + ")");
      TokenShard shard{path, probe_token_file(path, format)};
      if (shard.layout.tokens != tokens)
        throw RuntimeError(path + ": holds " + std::to_string(shard.layout.tokens) + " tokens, " + spec +
                           "/manifest.json says " + std::to_string(tokens) + " (truncated or replaced)");
      corpus.shards_.push_back(std::move(shard));
    }
  } else {
    corpus.shards_.push_back({spec, probe_token_file(spec, format)});  // a missing path fails here, naming it
  }

  const TokenShard& first = corpus.shards_.front();
  const std::string first_tokenizer = recorded_tokenizer(first.path);
  for (const auto& shard : corpus.shards_) {
    if (shard.layout.token_bytes != first.layout.token_bytes)
      throw RuntimeError(shard.path + ": " + std::to_string(8 * shard.layout.token_bytes) + "-bit tokens, but " +
                         first.path + " has " + std::to_string(8 * first.layout.token_bytes) + "-bit tokens");
    const std::string tokenizer = recorded_tokenizer(shard.path);
    if (tokenizer != first_tokenizer)
      throw RuntimeError(shard.path + ": its manifest records tokenizer " + tokenizer + ", but " + first.path +
                         "'s records " + (first_tokenizer.empty() ? "none" : first_tokenizer));
    corpus.size_ += shard.layout.tokens;
  }
  return corpus;
}

}  // namespace cocomix
