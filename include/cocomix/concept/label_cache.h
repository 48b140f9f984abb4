// The concept-label cache (issue 4 §5, docs/label-cache.md): the K_attr labels
// of every fixed window 0, T, 2T, ... of a training token file, computed once by
// `cocomix-sae label` and read by training (concept.label_cache) instead of
// running the teacher. One file: magic, a JSON header recording what made the
// labels (the token file's, the teacher's and the SAE's sha256, the window
// layout, k_attr, selection, precision), then the ids, uint16 or int32 LE,
// [windows, T, K_attr]. A cache that does not match the run is refused.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/config/config.h"

namespace cocomix {

inline constexpr char kLabelCacheMagic[8] = {'C', 'C', 'M', 'X', 'L', 'B', 'L', 'S'};
inline constexpr int64_t kLabelCacheVersion = 1;

/// The header a cache for `config` must carry (hashes every file it names):
/// {format_version, token_file, token_file_bytes, token_file_sha256, num_tokens,
///  seq_len, window_stride, windows, k_attr, selection, teacher_precision,
///  teacher_sha256 (of teacher_weights_file, sae_trainer.h), sae_sha256, sae_k,
///  teacher_layer, n_concepts, id_type}.
/// windows = (num_tokens - 1) / seq_len; id_type "uint16" when n_concepts <=
/// 65536, else "int32". Throws RuntimeError naming a missing or unreadable file.
nlohmann::json label_cache_header(const Config& config);

/// Builds a cache window by window into PATH.partial and renames it to PATH when
/// every window is written. Re-opening after an interruption keeps the whole
/// windows already in a PATH.partial with the same header and continues there.
class LabelCacheWriter {
 public:
  LabelCacheWriter(const std::string& path, const nlohmann::json& header);
  ~LabelCacheWriter();
  LabelCacheWriter(const LabelCacheWriter&) = delete;
  LabelCacheWriter& operator=(const LabelCacheWriter&) = delete;

  /// Windows already written (resumed ones included).
  int64_t windows_done() const { return done_; }
  int64_t windows() const { return windows_; }
  /// Appends labels [n, T, K_attr] (int64, ids < n_concepts) of the next n windows.
  void append(const torch::Tensor& labels);
  /// Flushes, checks every window is there, renames PATH.partial to PATH.
  void finish();

 private:
  std::string path_, partial_;
  int fd_ = -1;
  int64_t windows_ = 0, done_ = 0, window_values_ = 0, id_bytes_ = 2, n_concepts_ = 0;
};

/// `cocomix-sae label`: runs the config's concept labeler (teacher + SAE,
/// checked as for training) over every fixed window of data.train_path into
/// `path` (label_cache_header(config) first), train.batch_size windows per
/// forward, the last batch padded with its last window so that every forward has
/// the training step's shape. Resumes a PATH.partial of the same header. Logs a
/// progress line every `log_every` batches. Returns the number of windows.
int64_t build_label_cache(const Config& config, const std::string& path, int64_t log_every = 10);

/// A complete cache, opened for reading.
class LabelCache {
 public:
  /// Opens PATH and checks its header against `expected` (label_cache_header of
  /// the run) field by field. Throws UsageError "PATH: FIELD: the cache was
  /// built for X, this run has Y; ..." for the first mismatch, RuntimeError for a
  /// missing, truncated or malformed file.
  static LabelCache open(const std::string& path, const nlohmann::json& expected);
  /// open() for a training run: also refuses data.sampling other than "fixed".
  static LabelCache open_for(const Config& config);

  LabelCache(LabelCache&& other) noexcept;
  LabelCache& operator=(LabelCache&& other) noexcept;
  LabelCache(const LabelCache&) = delete;
  LabelCache& operator=(const LabelCache&) = delete;
  ~LabelCache();

  /// Labels [B, T, K_attr] int64 of the windows at token offsets `starts`
  /// (each a multiple of seq_len below windows * seq_len). Throws RuntimeError
  /// naming the file for another start or an id >= n_concepts.
  torch::Tensor labels(const std::vector<int64_t>& starts) const;
  const nlohmann::json& header() const { return header_; }

 private:
  LabelCache() = default;
  std::string path_;
  int fd_ = -1;
  nlohmann::json header_;
  int64_t data_offset_ = 0, windows_ = 0, seq_len_ = 0, k_attr_ = 0, id_bytes_ = 2, n_concepts_ = 0;
};

}  // namespace cocomix
