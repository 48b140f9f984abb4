// Tokenizer identities from manifests, tokenizer files and checkpoint configs,
// and the start-up check that teacher and student share one.
#include "cocomix/concept/tokenizer_identity.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "cocomix/data/gpt2_tokenizer.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

/// "gpt2 SHA": the sha256 of every id's (uint32 length, bytes) in id order.
std::string gpt2_identity(const Gpt2Tokenizer& tokenizer) {
  Sha256 hash;
  for (int64_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const auto& bytes = tokenizer.token_bytes(static_cast<uint32_t>(id));
    const auto length = static_cast<uint32_t>(bytes.size());
    hash.update(&length, sizeof length);
    hash.update(bytes);
  }
  return std::string(Gpt2Tokenizer::kName) + " " + hash.hex_digest();
}

/// Whether the manifest's splits name `file_name` (train.bin, or a shard).
bool manifest_lists(const json& manifest, const std::string& file_name) {
  if (!manifest.contains("splits") || !manifest["splits"].is_object()) return false;
  for (const auto& [split, entry] : manifest["splits"].items()) {
    if (!entry.is_object()) continue;
    if (entry.value("file", "") == file_name) return true;
    if (entry.contains("shards") && entry["shards"].is_array())
      for (const auto& shard : entry["shards"])
        if (shard.is_object() && shard.value("file", "") == file_name) return true;
  }
  return false;
}

}  // namespace

TokenizerIdentity data_tokenizer_identity(const std::string& token_file) {
  const std::string manifest_file = corpus_manifest_path(token_file);
  if (manifest_file.empty()) return {};
  const fs::path manifest_path(manifest_file);
  const json manifest = read_json_file(manifest_path.string());
  if (!manifest.is_object()) return {};
  // A single file must be one the manifest lists (a directory or glob is the manifest's own corpus).
  if (fs::is_regular_file(token_file) && !manifest_lists(manifest, fs::path(token_file).filename().string())) return {};
  const std::string name = manifest.value("tokenizer", "");
  if (name.empty() || !manifest.contains("vocab_size")) return {};
  if (name != Gpt2Tokenizer::kName) return {manifest_path.string(), name + " " + manifest["vocab_size"].dump()};
  // GPT-2: the files it was made with, when they are still there unchanged.
  const json files = manifest.contains("settings") ? manifest["settings"].value("tokenizer_files", json()) : json();
  if (!files.is_array() || files.size() != 2) return {};
  for (const auto& file : files) {
    if (!file.is_object()) return {};
    const std::string path = file.value("path", "");
    if (path.empty() || !fs::is_regular_file(path) || sha256_file_hex(path) != file.value("sha256", "")) return {};
  }
  return {manifest_path.string(), gpt2_identity(Gpt2Tokenizer::load_files(files[0]["path"].get<std::string>(),
                                                                          files[1]["path"].get<std::string>()))};
}

TokenizerIdentity teacher_tokenizer_identity(const std::string& teacher_path) {
  const fs::path dir(teacher_path);
  for (const auto& [vocab, merges] : {std::pair{"encoder.json", "vocab.bpe"}, std::pair{"vocab.json", "merges.txt"}})
    if (fs::is_regular_file(dir / vocab) && fs::is_regular_file(dir / merges))
      return {(dir / vocab).string(), gpt2_identity(Gpt2Tokenizer::load_files((dir / vocab).string(),
                                                                              (dir / merges).string()))};
  std::string checkpoint;
  try {
    checkpoint = resolve_checkpoint_dir(teacher_path);
  } catch (const RuntimeError&) {
    return {};  // a Hugging Face directory without tokenizer files
  }
  const json config = read_json_file((fs::path(checkpoint) / "config.json").string());
  // The corpus the teacher was trained on: data.train_path, or the first of its data.train_sources.
  const auto data = config.value("data", json());
  if (!data.is_object()) return {};
  const std::string train_path = data.value("train_path", std::string());
  if (!train_path.empty()) return data_tokenizer_identity(train_path);
  const json sources = data.value("train_sources", json::array());
  if (sources.is_array() && !sources.empty() && sources[0].is_object() && sources[0].contains("path") &&
      sources[0]["path"].is_string())
    return data_tokenizer_identity(sources[0]["path"].get<std::string>());
  return {};
}

void check_same_tokenizer(const Config& config) {
  const auto teacher = teacher_tokenizer_identity(config.concepts.teacher_path);
  for (const auto& source : config.data.sources()) {
    const auto data = data_tokenizer_identity(source.path);
    if (teacher.id.empty() || data.id.empty()) {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true))
        log_warn(config.source + ": concept.teacher_path: cannot tell whether the teacher (" +
                 config.concepts.teacher_path + ") and the training data (" + source.path +
                 ") share the tokenizer (" +
                 (teacher.id.empty() ? "no tokenizer files or data manifest for the teacher"
                                     : "no manifest.json listing the data file") +
                 "); only the vocabulary sizes were compared");
      continue;
    }
    if (teacher.id != data.id)
      throw UsageError(config.source + ": concept.teacher_path: the teacher's tokenizer (" + teacher.file + ": " +
                       teacher.id + ") differs from the training data's (" + data.file + ": " + data.id +
                       "); teacher and student must share the tokenizer");
  }
}

}  // namespace cocomix
