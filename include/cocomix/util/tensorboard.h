// A minimal TensorBoard event-file writer for scalars: TFRecord framing around
// hand-encoded protobuf `Event` messages, so no protobuf or TensorFlow library
// is needed. TensorBoard (and its Rust data server) read the files directly.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace cocomix {

/// Serialized `Event{wall_time, step, file_version}` (protobuf, canonical encoding).
std::string encode_file_version_event(double wall_time, const std::string& file_version);

/// Serialized `Event{wall_time, step, summary{value{tag, simple_value}}}`. The
/// value is stored as float32, as TensorBoard scalars are.
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value);

/// Serialized `Event{wall_time, step, session_log{status: START}}`: tells TensorBoard
/// that a run (re)started at `step`, so it drops earlier-written points with step >= `step`.
std::string encode_session_start_event(double wall_time, int64_t step);

/// One TFRecord: uint64 little-endian length, masked CRC-32C of those 8 bytes,
/// the payload, masked CRC-32C of the payload.
std::string encode_tfrecord(const std::string& payload);

/// Appends scalar events to a new file
/// DIR/events.out.tfevents.<unix time, 10 digits>.<hostname>.<pid>.<k>, where k
/// is the number of event files already in DIR (names stay unique, and a writer
/// opened later in the same second still sorts after the earlier ones).
/// The first record is the file version "brain.Event:2".
class TensorBoardWriter {
 public:
  /// Creates DIR if needed and opens the event file. Throws RuntimeError naming
  /// the path when the directory or the file cannot be created.
  explicit TensorBoardWriter(const std::string& dir);
  /// Flushes; errors at this point are logged, not thrown.
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  /// Records `value` (as float32; NaN and inf are kept) under `tag` at `step`.
  void add_scalar(const std::string& tag, double value, int64_t step);
  /// Records a SessionLog START at `step` (see encode_session_start_event).
  void add_session_start(int64_t step);
  /// Hands buffered records to the OS. Throws RuntimeError naming the file on failure.
  void flush();
  /// The event file being written.
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& payload);

  std::string path_;
  std::ofstream out_;
};

}  // namespace cocomix
