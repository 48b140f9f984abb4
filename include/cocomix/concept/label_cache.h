// The concept-label cache (docs/label-cache.md): the K_attr labels
// of every fixed window 0, T, 2T, ... of each shard of the training corpus, computed once by
// `cocomix-sae label` and read by training (concept.label_cache) instead of
// running the teacher. One file: magic, a JSON header recording what made the
// labels (the shards' names, sizes and sha256, the teacher's and the SAE's sha256, the window
// layout, k_attr, selection, precision), then the ids, uint16 or int32 LE,
// [windows, T, K_attr]. A cache that does not match the run is refused.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cocomix/concept/label_cache_format.h"
#include "cocomix/config/config.h"
#include "cocomix/data/shard_windows.h"

namespace cocomix {

/// The header a cache for `config` must carry (hashes every file it names):
/// {format_version, data (data.train_path), shards (shard_list with each shard's
///  sha256), num_tokens, seq_len, window_stride, windows, k_attr, selection,
///  teacher_precision ("bf16", or "fp32" for both fp32 and tf32), teacher_sha256
///  (of teacher_weights_file, sae_trainer.h),
///  sae_sha256, sae_k, teacher_layer, n_concepts, id_type}.
/// windows = ShardWindows(shard tokens, seq_len).size(), stored in that order;
/// id_type "uint16" when n_concepts <=
/// 65536, else "int32". Throws RuntimeError naming a missing or unreadable file.
nlohmann::json label_cache_header(const Config& config);

/// A complete cache, opened for reading.
class LabelCache {
 public:
  /// Opens PATH and checks its header against `expected` (label_cache_header of
  /// the run) field by field. Throws UsageError "PATH: FIELD: the cache was
  /// built for X, this run has Y; REMEDY" for the first mismatch, RuntimeError for a
  /// missing file or "PATH: ...; REMEDY" for a truncated or malformed one.
  static LabelCache open(const std::string& path, const nlohmann::json& expected,
                         std::string_view remedy = label_cache_format::kRebuildIt);
  /// open() for a training run: also refuses data.sampling other than "fixed".
  static LabelCache open_for(const Config& config);

  LabelCache(LabelCache&& other) noexcept;
  LabelCache& operator=(LabelCache&& other) noexcept;
  LabelCache(const LabelCache&) = delete;
  LabelCache& operator=(const LabelCache&) = delete;
  ~LabelCache();

  /// Labels [B, T, K_attr] int64 of the windows at corpus indices `starts`
  /// (each the start of a fixed window, ShardWindows). Throws RuntimeError
  /// naming the file for another start or an id >= n_concepts.
  torch::Tensor labels(const std::vector<int64_t>& starts) const;
  const nlohmann::json& header() const { return layout_.header; }
  /// How many fixed windows it holds the labels of.
  int64_t windows() const { return layout_.windows; }

 private:
  LabelCache() = default;
  std::string path_;
  int fd_ = -1;
  label_cache_format::CheckedHeader layout_;        ///< the header and the layout it gives
  std::shared_ptr<const ShardWindows> windows_of_;  ///< window number of a corpus start
};

}  // namespace cocomix
