// TensorBoard event files by hand: the protobuf wire format of the few Event
// fields we need (tensorboard/compat/proto/event.proto, summary.proto) and the
// TFRecord framing. Encodings are canonical: proto3 default values are omitted.
#include "cocomix/util/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "cocomix/util/crc32c.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/log.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;

// Wire types of the protobuf encoding.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_key(std::string& out, uint32_t field, uint32_t wire_type) { put_varint(out, (field << 3) | wire_type); }

template <typename T>
void put_little_endian(std::string& out, T value) {
  // The protobuf wire format and TFRecord are little-endian, as is every platform cocomix builds on.
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

/// Event fields 1 (double wall_time) and 2 (int64 step), omitted when zero.
std::string event_header(double wall_time, int64_t step) {
  std::string event;
  if (wall_time != 0) {
    put_key(event, 1, kFixed64);
    put_little_endian(event, wall_time);
  }
  if (step != 0) {
    put_key(event, 2, kVarint);
    put_varint(event, static_cast<uint64_t>(step));  // negative int64: ten-byte two's complement
  }
  return event;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

int64_t count_event_files(const fs::path& dir) {
  int64_t count = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) ++count;
  return count;
}

}  // namespace

std::string encode_file_version_event(double wall_time, const std::string& file_version) {
  std::string event = event_header(wall_time, 0);
  put_bytes(event, 3, file_version);
  return event;
}

std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag, float value) {
  std::string summary_value;  // Summary.Value{tag = 1, simple_value = 2}
  if (!tag.empty()) put_bytes(summary_value, 1, tag);
  put_key(summary_value, 2, kFixed32);  // in a oneof: written even when 0
  put_little_endian(summary_value, value);
  std::string summary;  // Summary{repeated Value value = 1}
  put_bytes(summary, 1, summary_value);
  std::string event = event_header(wall_time, step);
  put_bytes(event, 5, summary);
  return event;
}

std::string encode_session_start_event(double wall_time, int64_t step) {
  std::string session_log;  // SessionLog{status = 1}; START = 1
  put_key(session_log, 1, kVarint);
  put_varint(session_log, 1);
  std::string event = event_header(wall_time, step);
  put_bytes(event, 7, session_log);
  return event;
}

std::string encode_tfrecord(const std::string& payload) {
  std::string record;
  put_little_endian(record, static_cast<uint64_t>(payload.size()));
  put_little_endian(record, mask_crc32c(crc32c(record.data(), 8)));
  record += payload;
  put_little_endian(record, mask_crc32c(crc32c(payload)));
  return record;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  ensure_writable_directory(dir);
  const double wall_time = now_seconds();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%010lld", static_cast<long long>(wall_time));
  const std::string name = "events.out.tfevents." + std::string(stamp) + "." + host_name() + "." +
                           std::to_string(static_cast<long long>(getpid())) + "." +
                           std::to_string(count_event_files(dir));
  path_ = (fs::path(dir) / name).string();
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw RuntimeError(path_ + ": cannot open the TensorBoard event file for writing");
  write_record(encode_file_version_event(wall_time, "brain.Event:2"));
}

TensorBoardWriter::~TensorBoardWriter() {
  out_.flush();
  if (!out_) log_warn(path_ + ": flushing the TensorBoard event file failed");
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  write_record(encode_scalar_event(now_seconds(), step, tag, static_cast<float>(value)));
}

void TensorBoardWriter::add_session_start(int64_t step) {
  write_record(encode_session_start_event(now_seconds(), step));
}

void TensorBoardWriter::flush() {
  out_.flush();
  if (!out_) throw RuntimeError(path_ + ": write failed (disk full or not writable?)");
}

void TensorBoardWriter::write_record(const std::string& payload) {
  const std::string record = encode_tfrecord(payload);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) throw RuntimeError(path_ + ": write failed (disk full or not writable?)");
}

}  // namespace cocomix
