// The label cache's header for a run (hashes of the data, teacher and SAE) and
// the checked reader.
#include "cocomix/concept/label_cache.h"

#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "cocomix/concept/label_cache_format.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/data/shard_windows.h"
#include "cocomix/data/token_corpus.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/sha256.h"

namespace cocomix {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace label_cache_format;

json label_cache_header(const Config& config) {
  const auto& k = config.concepts;
  const auto corpus = TokenCorpus::open(config.data.train_path, "train", parse_token_format(config.data.format));
  json shards = shard_list(corpus);
  for (size_t i = 0; i < shards.size(); ++i) shards[i]["sha256"] = sha256_file_hex(corpus.shards()[i].path);
  const std::string sae_json = (fs::path(k.sae_path) / "sae.json").string();
  const json sae = read_json_file(sae_json);
  const int64_t T = config.data.seq_len;
  return {{"format_version", kLabelCacheVersion},
          {"data", config.data.train_path},
          {"shards", std::move(shards)},
          {"num_tokens", corpus.size()},
          {"seq_len", T},
          {"window_stride", T},
          {"windows", ShardWindows(corpus.shard_tokens(), T).size()},
          {"k_attr", k.k_attr},
          {"selection", name_of(k.selection)},
          // "tf32" is recorded as "fp32": whether cuBLAS used TF32 tensor cores is a detail of the device the
          // labels were computed on, like its choice of kernels, and CPU labels are the same either way.
          {"teacher_precision", k.teacher_precision == "bf16" ? "bf16" : "fp32"},
          {"teacher_sha256", sha256_file_hex(teacher_weights_file(k.teacher_path))},
          {"sae_sha256", sha256_file_hex((fs::path(k.sae_path) / "sae.safetensors").string())},
          {"sae_k", json_field<int64_t>(sae, "k", sae_json)},
          {"teacher_layer", json_field<int64_t>(sae, "layer", sae_json)},
          {"n_concepts", k.n_concepts},
          {"id_type", k.n_concepts <= 65536 ? "uint16" : "int32"}};
}

LabelCache LabelCache::open(const std::string& path, const json& expected, std::string_view remedy) {
  LabelCache cache;
  cache.path_ = path;
  cache.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (cache.fd_ < 0)
    throw RuntimeError(path + ": cannot open the concept-label cache (" + std::strerror(errno) +
                       "); build it with cocomix-sae label --config FILE");
  cache.layout_ = read_checked_header(cache.fd_, path, expected, remedy);
  cache.windows_of_ = std::make_shared<ShardWindows>(cache.layout_.shard_tokens, cache.layout_.seq_len);
  return cache;
}

LabelCache LabelCache::open_for(const Config& config) {
  const auto& path = config.concepts.label_cache;
  if (config.data.sampling != "fixed")
    throw UsageError(path + ": data.sampling: a label cache covers the fixed windows 0, T, 2T, ...; set data.sampling "
                     "to \"fixed\" (it is \"" + config.data.sampling + "\")");
  return open(path, label_cache_header(config));
}

LabelCache::LabelCache(LabelCache&& other) noexcept { *this = std::move(other); }

LabelCache& LabelCache::operator=(LabelCache&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    layout_ = std::move(other.layout_);
    windows_of_ = std::move(other.windows_of_);
  }
  return *this;
}

LabelCache::~LabelCache() {
  if (fd_ >= 0) ::close(fd_);
}

torch::Tensor LabelCache::labels(const std::vector<int64_t>& starts) const {
  const int64_t B = static_cast<int64_t>(starts.size()), values = layout_.seq_len * layout_.k_attr;
  std::vector<char> stored(static_cast<size_t>(B * values * layout_.id_bytes));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t start = starts[static_cast<size_t>(b)];
    const int64_t window = windows_of_->window_at(start);
    if (window < 0 || window >= layout_.windows)
      throw RuntimeError(path_ + ": no labels for the window at token " + std::to_string(start) + " (the cache holds " +
                         std::to_string(layout_.windows) + " windows at multiples of " +
                         std::to_string(layout_.seq_len) + " within each shard)");
    read_exactly(fd_, path_, stored.data() + b * values * layout_.id_bytes,
                 static_cast<size_t>(values * layout_.id_bytes),
                 layout_.data_offset + window * values * layout_.id_bytes);
  }
  auto labels = torch::empty({B, values}, torch::kInt64);  // widened from the stored uint16 / int32
  int64_t* out = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < B * values; ++i) {
    if (layout_.id_bytes == 2) {
      uint16_t id;
      std::memcpy(&id, stored.data() + 2 * i, 2);
      out[i] = id;
    } else {
      int32_t id;
      std::memcpy(&id, stored.data() + 4 * i, 4);
      out[i] = id;
    }
  }
  if (B > 0 && (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= layout_.n_concepts))
    throw RuntimeError(path_ + ": a label outside [0, n_concepts = " + std::to_string(layout_.n_concepts) +
                       ") (damaged file)");
  return labels.view({B, layout_.seq_len, layout_.k_attr});
}

}  // namespace cocomix
