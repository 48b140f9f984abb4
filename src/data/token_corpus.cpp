// TokenCorpus: opening a file, a cocomix-tokenize directory or a glob, checked
// shard by shard, and reading through a small least-recently-used set of maps.
#include "cocomix/data/token_corpus.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "cocomix/util/error.h"
#include "cocomix/util/json_field.h"

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
        out.emplace_back(shard.at("file").get<std::string>(), json_integer(shard.at("tokens"), where + ": tokens"));
    } else {  // byte-tokenizer layout: one file per split
      out.emplace_back(entry.at("file").get<std::string>(), json_integer(entry.at("tokens"), where + ": tokens"));
    }
  } catch (const json::exception&) {
    throw RuntimeError(where + ": expected {\"shards\": [{\"file\", \"tokens\"}, ...]} or {\"file\", \"tokens\"}");
  }
  if (out.empty()) throw RuntimeError(where + ": no shards (the split has no tokens)");
  return out;
}

/// The tokenizer identity a directory's manifest records, "" without a manifest.
std::string recorded_tokenizer(const fs::path& dir) {
  const fs::path file = dir / "manifest.json";
  if (!fs::is_regular_file(file)) return "";
  const json manifest = read_manifest(file);
  return manifest.value("tokenizer", json()).dump() + " vocab_size " + manifest.value("vocab_size", json()).dump() +
         " end_of_text " + manifest.value("end_of_text", json()).dump();
}

/// recorded_tokenizer of each shard's directory, each manifest read once: the
/// shards of a corpus share a few directories, and a manifest lists every shard,
/// so reading it per shard would grow with the square of the shard count.
class RecordedTokenizers {
 public:
  const std::string& of_shard(const std::string& shard) {
    const fs::path dir = fs::path(shard).parent_path();
    auto it = by_directory_.find(dir);
    if (it == by_directory_.end()) it = by_directory_.emplace(dir, recorded_tokenizer(dir)).first;
    return it->second;
  }

 private:
  std::map<fs::path, std::string> by_directory_;
};

}  // namespace

std::string corpus_manifest_path(const std::string& spec) {
  const fs::path manifest =
      fs::is_directory(spec) ? fs::path(spec) / "manifest.json" : fs::path(spec).parent_path() / "manifest.json";
  return fs::is_regular_file(manifest) ? manifest.string() : "";
}

/// The mapped shards, most recently read first, at most kMaxOpenShards of them.
class TokenCorpus::MappedShards {
 public:
  /// Calls read(file) with shard `index` mapped, mapping it first if needed.
  template <typename Read>
  void with_shard(size_t index, const TokenShard& shard, TokenAccess access, Read&& read) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(maps_.begin(), maps_.end(), [&](const auto& entry) { return entry.first == index; });
    if (it == maps_.end()) {
      if (maps_.size() == kMaxOpenShards) maps_.pop_back();
      maps_.emplace_front(index, TokenFile::open(shard.path, shard.layout.format, access));
    } else if (it != maps_.begin()) {
      maps_.splice(maps_.begin(), maps_, it);
    }
    read(maps_.front().second);
  }

 private:
  std::mutex mutex_;
  std::list<std::pair<size_t, TokenFile>> maps_;
};

TokenCorpus TokenCorpus::open(const std::string& spec, const std::string& split, TokenFormat format,
                              TokenAccess access) {
  TokenCorpus corpus;
  corpus.spec_ = spec;
  corpus.access_ = access;
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
  RecordedTokenizers tokenizers;
  const std::string first_tokenizer = tokenizers.of_shard(first.path);
  for (const auto& shard : corpus.shards_) {
    if (shard.layout.token_bytes != first.layout.token_bytes)
      throw RuntimeError(shard.path + ": " + std::to_string(8 * shard.layout.token_bytes) + "-bit tokens, but " +
                         first.path + " has " + std::to_string(8 * first.layout.token_bytes) + "-bit tokens");
    const std::string& tokenizer = tokenizers.of_shard(shard.path);
    if (tokenizer != first_tokenizer)
      throw RuntimeError(shard.path + ": its manifest records tokenizer " + tokenizer + ", but " + first.path +
                         "'s records " + (first_tokenizer.empty() ? "none" : first_tokenizer));
    corpus.begins_.push_back(corpus.size_);
    corpus.size_ += shard.layout.tokens;
  }
  corpus.tokenizer_ = first_tokenizer;
  corpus.mapped_ = std::make_shared<MappedShards>();
  return corpus;
}

std::vector<int64_t> TokenCorpus::shard_tokens() const {
  std::vector<int64_t> tokens;
  tokens.reserve(shards_.size());
  for (const auto& shard : shards_) tokens.push_back(shard.layout.tokens);
  return tokens;
}

size_t TokenCorpus::shard_of(int64_t index) const {
  if (index < 0 || index >= size_)
    throw RuntimeError(spec_ + ": token " + std::to_string(index) + " is outside the corpus's " +
                       std::to_string(size_) + " tokens");
  return static_cast<size_t>(std::upper_bound(begins_.begin(), begins_.end(), index) - begins_.begin()) - 1;
}

std::string TokenCorpus::locate(int64_t index) const {
  const size_t shard = shard_of(index);
  if (shards_.size() == 1) return shards_[0].path;
  return shards_[shard].path + " (token " + std::to_string(index - begins_[shard]) + " of the shard)";
}

void TokenCorpus::read(int64_t begin, int64_t count, int64_t* out) const {
  if (count <= 0) return;
  const size_t shard = shard_of(begin);
  const int64_t local = begin - begins_[shard];
  const int64_t tokens = shards_[shard].layout.tokens;
  if (local + count > tokens)
    throw RuntimeError(shards_[shard].path + ": tokens " + std::to_string(local) + " .. " +
                       std::to_string(local + count - 1) + " leave the shard's " + std::to_string(tokens) +
                       " tokens (a window may not cross into the next shard)");
  mapped_->with_shard(shard, shards_[shard], access_, [&](const TokenFile& file) { file.read(local, count, out); });
}

json shard_list(const TokenCorpus& corpus) {
  json list = json::array();
  for (const auto& shard : corpus.shards())
    list.push_back({{"file", fs::path(shard.path).filename().string()}, {"tokens", shard.layout.tokens}});
  return list;
}

std::string shard_list_change(const json& then, const json& now) {
  if (then == now) return "";
  if (!then.is_array() || !now.is_array()) return "shard list " + then.dump() + " then, " + now.dump() + " now";
  const auto name = [](const json& entry) {
    return entry.is_object() && entry.contains("file") ? entry["file"].dump() : entry.dump();
  };
  for (size_t i = 0; i < std::min(then.size(), now.size()); ++i) {
    if (then[i] == now[i]) continue;
    if (!then[i].is_object() || !now[i].is_object())
      return "shard " + std::to_string(i) + ": " + then[i].dump() + " then, " + now[i].dump() + " now";
    // The keys come from the list this code wrote (now): the other may come
    // from a damaged file, and its keys can hold anything, newlines included.
    for (const auto& [key, current] : now[i].items()) {
      const json value = then[i].value(key, json());
      if (current != value)
        return "shard " + std::to_string(i) + " (" + name(then[i]) + "): " + key + " " + value.dump() + " then, " +
               current.dump() + " now";
    }
    return "shard " + std::to_string(i) + ": " + then[i].dump() + " then, " + now[i].dump() + " now";
  }
  const bool grew = now.size() > then.size();
  return std::to_string(then.size()) + " shards then, " + std::to_string(now.size()) + " now (" +
         name(grew ? now[then.size()] : then[now.size()]) + (grew ? " is new)" : " is gone)");
}

}  // namespace cocomix
