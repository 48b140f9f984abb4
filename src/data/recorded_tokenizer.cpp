// recorded_gpt2_tokenizer: the tokenizer files a corpus manifest names.
#include "cocomix/data/recorded_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<Gpt2Tokenizer> recorded_gpt2_tokenizer(const Config& config) {
  for (const std::string& data : {config.data.train_path, config.data.val_path}) {
    if (data.empty()) continue;
    const std::string manifest_path = (fs::path(data).parent_path() / "manifest.json").string();
    if (!fs::is_regular_file(manifest_path)) continue;
    std::vector<std::string> paths, hashes;
    try {
      const json manifest = json::parse(read_whole_file(manifest_path));
      if (manifest.value("tokenizer", "") != Gpt2Tokenizer::kName) continue;
      for (const auto& file : manifest.at("settings").at("tokenizer_files")) {
        paths.push_back(file.at("path").get<std::string>());
        hashes.push_back(file.at("sha256").get<std::string>());
      }
    } catch (const std::exception& e) {
      log_warn(manifest_path + ": no readable settings.tokenizer_files (" + e.what() + "): not used");
      continue;
    }
    if (paths.size() != 2) continue;
    bool unchanged = true;
    for (size_t i = 0; i < paths.size() && unchanged; ++i) {
      unchanged = fs::is_regular_file(paths[i]) && sha256_file_hex(paths[i]) == hashes[i];
      if (!unchanged)
        log_warn(manifest_path + ": tokenizer file " + paths[i] + " is missing or changed since tokenization");
    }
    if (!unchanged) continue;
    return Gpt2Tokenizer::load_files(paths[0], paths[1]);
  }
  return std::nullopt;
}

}  // namespace cocomix
