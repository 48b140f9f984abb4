// recorded_gpt2_tokenizer(_of): the tokenizer files a corpus manifest names.
#include "cocomix/data/recorded_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/data/token_corpus.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<Gpt2Tokenizer> recorded_gpt2_tokenizer_of(const std::string& token_file) {
  const std::string manifest_path = corpus_manifest_path(token_file);
  if (manifest_path.empty()) return std::nullopt;
  std::vector<std::string> paths, hashes;
  try {
    const json manifest = json::parse(read_whole_file(manifest_path));
    if (manifest.value("tokenizer", "") != Gpt2Tokenizer::kName) return std::nullopt;
    for (const auto& file : manifest.at("settings").at("tokenizer_files")) {
      paths.push_back(file.at("path").get<std::string>());
      hashes.push_back(file.at("sha256").get<std::string>());
    }
  } catch (const std::exception& e) {
    log_warn(manifest_path + ": no readable settings.tokenizer_files (" + e.what() + "): not used");
    return std::nullopt;
  }
  if (paths.size() != 2) return std::nullopt;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!fs::is_regular_file(paths[i]) || sha256_file_hex(paths[i]) != hashes[i]) {
      log_warn(manifest_path + ": tokenizer file " + paths[i] + " is missing or changed since tokenization");
      return std::nullopt;
    }
  }
  return Gpt2Tokenizer::load_files(paths[0], paths[1]);
}

std::optional<Gpt2Tokenizer> recorded_gpt2_tokenizer(const Config& config) {
  std::vector<std::string> corpora;
  for (const auto& source : config.data.sources()) corpora.push_back(source.path);
  corpora.push_back(config.data.val_path);
  for (const std::string& data : corpora) {
    if (data.empty()) continue;
    if (auto tokenizer = recorded_gpt2_tokenizer_of(data)) return tokenizer;
  }
  return std::nullopt;
}

}  // namespace cocomix
