// Writes a concept-label cache (label_cache.h) window by window, resumably.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace cocomix {

/// Builds a cache window by window into PATH.partial and renames it to PATH when
/// every window is written. sync() makes the windows written so far durable and
/// records their count in PATH.partial.durable (replaced atomically). Re-opening
/// after an interruption keeps the windows of a PATH.partial with the same header
/// up to that count and continues there: a window written after the last sync()
/// may not have reached the disk before a power loss (a file's size can be
/// durable before its data), so it is labelled again.
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
  /// Flushes the windows appended so far to stable storage and records their count in
  /// PATH.partial.durable: a resume keeps them.
  void sync();
  /// Flushes, checks every window is there, renames PATH.partial to PATH (and removes
  /// PATH.partial.durable first).
  void finish();

 private:
  std::string path_, partial_, durable_;
  int fd_ = -1;
  int64_t windows_ = 0, done_ = 0, window_values_ = 0, id_bytes_ = 2, n_concepts_ = 0;
};

}  // namespace cocomix
