// The run's metrics sink: one JSON object per line in OUT/metrics.jsonl and, when
// enabled, the same numbers as TensorBoard scalars under OUT/tensorboard/ (tags
// are the JSON keys). A resumed run leaves the same metrics.jsonl as a straight one.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cocomix {

class TensorBoardWriter;

/// Named values of one record, kept in this order.
using Scalars = std::vector<std::pair<std::string, double>>;

/// One metrics.jsonl line without the newline: {"step": N, "name": value, ...}.
/// Integral values below 2^53 in magnitude print as integers (step, tokens: 4096, not
/// 4096.0), others in the shortest form that reads back to the same double, and
/// NaN / inf as null (JSON has no such numbers; TensorBoard still gets them).
/// Throws RuntimeError naming `path` when a name repeats or is "step".
std::string format_metrics_record(int64_t step, const Scalars& scalars, const std::string& path = "metrics.jsonl");

/// The run's metrics writer (rank 0 only): metrics.jsonl plus optional TensorBoard scalars.
class MetricsLog {
 public:
  /// Opens DIR/metrics.jsonl (creating DIR) and, if `tensorboard`, a new event file in
  /// DIR/tensorboard/. A new run (`resume_step` < 0) replaces an existing metrics.jsonl.
  /// A resumed run first keeps only the records with step <= `resume_step` (rewritten
  /// atomically: temporary file, fsync, rename; a torn last line from a crash is
  /// dropped), then appends. The event file starts with a SessionLog START at
  /// `resume_step` + 1, so TensorBoard discards points the crashed run wrote after the
  /// checkpoint. Throws RuntimeError naming the file on any I/O or parse error.
  MetricsLog(const std::string& dir, bool tensorboard, int64_t resume_step = -1);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  /// Appends one record (see format_metrics_record) and flushes both sinks, so a
  /// crash loses nothing already written. Throws RuntimeError naming the file.
  void write(int64_t step, const Scalars& scalars);

  /// DIR/metrics.jsonl.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
  std::unique_ptr<TensorBoardWriter> tensorboard_;
};

}  // namespace cocomix
