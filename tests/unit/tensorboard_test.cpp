// TensorBoard event files: CRC-32C against RFC 3720 vectors, Event encodings
// against bytes serialized by protobuf (tensorboard.compat.proto), TFRecord framing
// against TensorBoard's own masked CRC, and a readback of written files by
// TensorBoard's EventAccumulator (run through $COCOMIX_PYTHON), including the
// restart purge a resumed MetricsLog relies on.
#include "cocomix/util/tensorboard.h"

#include <gtest/gtest.h>

#include "temp_dir.h"
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cocomix/util/crc32c.h"
#include "cocomix/util/metrics.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string bytes_of(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string le32(uint32_t value) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  return out;
}

using cocomix::testing::TempDir;

std::vector<std::string> event_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Crc32c, StandardCheckValue) { EXPECT_EQ(crc32c(std::string("123456789")), 0xE3069283u); }

TEST(Crc32c, Rfc3720Vectors) {
  std::string zeros(32, '\0'), ones(32, '\xff'), ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
  const std::string read10_pdu =  // RFC 3720 B.4: a SCSI READ (10) command PDU
      bytes_of("01c000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000");
  ASSERT_EQ(read10_pdu.size(), 48u);
  EXPECT_EQ(crc32c(read10_pdu), 0xD9963A56u);
  EXPECT_EQ(crc32c(std::string()), 0u);
}

TEST(Crc32c, ContinuesOverChunks) {
  const std::string text = "123456789";
  EXPECT_EQ(crc32c(text.data() + 4, 5, crc32c(text.data(), 4)), 0xE3069283u);
}

TEST(Crc32c, Mask) {
  EXPECT_EQ(mask_crc32c(0), 0xA282EAD8u);
  EXPECT_EQ(mask_crc32c(0xE3069283u), 0xC78AB0E5u);  // rotr15 = 0x2507C60D, + 0xa282ead8
}

// Expected bytes: Event(...).SerializeToString() from tensorboard.compat.proto.event_pb2.
TEST(TensorBoard, ScalarEventEncoding) {
  EXPECT_EQ(encode_scalar_event(1.5, 3, "a", 2.0f), bytes_of("09000000000000f83f10032a0a0a080a01611500000040"));
  // Step 0 is a proto3 default and is omitted; simple_value is in a oneof and always written.
  EXPECT_EQ(encode_scalar_event(1.5, 0, "a", 0.0f), bytes_of("09000000000000f83f2a0a0a080a01611500000000"));
}

TEST(TensorBoard, FileVersionAndSessionStartEncoding) {
  EXPECT_EQ(encode_file_version_event(1.5, "brain.Event:2"),
            bytes_of("09000000000000f83f1a0d627261696e2e4576656e743a32"));
  EXPECT_EQ(encode_session_start_event(1.5, -2), bytes_of("09000000000000f83f10feffffffffffffffff013a020801"));
}

// Expected CRCs: masked_crc32c from tensorboard.compat.tensorflow_stub.pywrap_tensorflow.
TEST(TensorBoard, TfRecordFraming) {
  EXPECT_EQ(encode_tfrecord(""), std::string(8, '\0') + le32(0x07980329u) + le32(0xA282EAD8u));
  EXPECT_EQ(encode_tfrecord("abc"), bytes_of("0300000000000000") + le32(0x0E4999B0u) + "abc" + le32(0x21F1576Eu));
}

TEST(TensorBoard, WriterNamesFilesInOrderAndStartsWithFileVersion) {
  TempDir dir;
  const std::string sub = dir.path() + "/tb";
  std::string first_path, second_path;
  {
    TensorBoardWriter first(sub);
    TensorBoardWriter second(sub);
    first_path = first.path();
    second_path = second.path();
  }
  const auto names = event_files(sub);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(sub + "/" + names[0], first_path);
  EXPECT_EQ(sub + "/" + names[1], second_path);
  EXPECT_EQ(names[0].rfind("events.out.tfevents.", 0), 0u);
  EXPECT_EQ(names[0].substr(names[0].size() - 2), ".0");
  EXPECT_EQ(names[1].substr(names[1].size() - 2), ".1");
  std::ifstream in(first_path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  // One record: 12 bytes of header, Event{wall_time (9 bytes), file_version (15 bytes)}, 4 bytes of CRC.
  const std::string version =
      "\x1a\x0d"
      "brain.Event:2";
  ASSERT_EQ(bytes.str().size(), 12u + 9u + version.size() + 4u);
  EXPECT_EQ(bytes.str().substr(12 + 9, version.size()), version);
}

// Reads every event file of a directory strictly (both CRCs of every record, each
// payload must be protobuf's canonical encoding of the Event it parses to) and then
// through EventAccumulator, as TensorBoard's Python loader does. Prints JSON.
constexpr const char* kReadback = R"PY(
import glob, json, math, os, struct, sys
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

def number(x):
    return x if math.isfinite(x) else str(x)

files = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "events.out.tfevents.*"))):
    data, pos, events = open(path, "rb").read(), 0, []
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        payload = data[pos + 12:pos + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        event = event_pb2.Event.FromString(payload)
        events.append({"what": event.WhichOneof("what"), "step": event.step,
                       "crc_ok": header_crc == masked_crc32c(header) and payload_crc == masked_crc32c(payload),
                       "canonical": event.SerializeToString() == payload,
                       "file_version": event.file_version, "session_status": event.session_log.status})
        pos += 16 + length
    files.append(events)

accumulator = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
accumulator.Reload()
scalars = {tag: [[s.step, number(s.value)] for s in accumulator.Scalars(tag)]
           for tag in accumulator.Tags()["scalars"]}
print(json.dumps({"files": files, "scalars": scalars}))
)PY";

/// $COCOMIX_PYTHON (set by ctest), else the venv where scripts/common.sh puts it.
std::string python_path() {
  const auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? "" : value;
  };
  if (!env("COCOMIX_PYTHON").empty()) return env("COCOMIX_PYTHON");
  std::string venv = env("COCOMIX_VENV");
  if (venv.empty())
    venv = (env("XDG_CACHE_HOME").empty() ? env("HOME") + "/.cache" : env("XDG_CACHE_HOME")) + "/cocomix/venv";
  return venv + "/bin/python";
}

/// Runs kReadback on `dir` with the venv's Python and parses what it prints.
json read_back(const std::string& dir) {
  const std::string python = python_path();
  if (!fs::exists(python))
    throw std::runtime_error(python + " does not exist: set COCOMIX_PYTHON to the venv's python (scripts/setup.sh)");
  const std::string script = dir + ".readback.py";  // beside DIR, not in it
  std::ofstream(script) << kReadback;
  const std::string command = "\"" + python + "\" \"" + script + "\" \"" + dir + "\"";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string output;
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  fs::remove(script);
  if (status != 0) throw std::runtime_error(command + " failed (status " + std::to_string(status) + "): " + output);
  return json::parse(output);
}

/// [[step, value as float32], ...] as the readback prints it.
json points(const std::vector<std::pair<int64_t, double>>& values) {
  json out = json::array();
  for (const auto& [step, value] : values) {
    const float f = static_cast<float>(value);
    if (std::isnan(f))
      out.push_back({step, "nan"});
    else if (std::isinf(f))
      out.push_back({step, f > 0 ? "inf" : "-inf"});
    else
      out.push_back({step, static_cast<double>(f)});
  }
  return out;
}

TEST(TensorBoard, EventAccumulatorReadsScalarsBack) {
  TempDir dir;
  {
    TensorBoardWriter writer(dir.path());
    writer.add_scalar("train/loss", 3.25, 1);
    writer.add_scalar("train/loss", 0.1, 2);  // not exact in float32: TensorBoard shows the float
    writer.add_scalar("train/lr", 6e-4, 2);
    writer.add_scalar("train/loss", std::numeric_limits<double>::quiet_NaN(), 3);
    writer.add_scalar("train/lr", 1e300, 1000000000000LL);  // float overflow -> inf; a step beyond 32 bits
    writer.add_scalar("train/loss", -2.5, 4);
    writer.flush();
  }
  const json result = read_back(dir.path());
  ASSERT_EQ(result["files"].size(), 1u);
  const json& events = result["files"][0];
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[0]["what"], "file_version");
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");
  for (const auto& event : events) {
    EXPECT_TRUE(event["crc_ok"].get<bool>()) << event.dump();
    EXPECT_TRUE(event["canonical"].get<bool>()) << event.dump();
  }
  EXPECT_EQ(result["scalars"]["train/loss"], points({{1, 3.25}, {2, 0.1}, {3, NAN}, {4, -2.5}}));
  EXPECT_EQ(result["scalars"]["train/lr"], points({{2, 6e-4}, {1000000000000LL, INFINITY}}));
}

TEST(TensorBoard, ResumedMetricsLogShowsTheStraightRun) {
  TempDir straight_dir, resumed_dir;
  auto values = [](int64_t step, double offset) -> Scalars {
    return {{"loss", 10.0 / static_cast<double>(step) + offset}, {"lr", 1e-4 * static_cast<double>(step)}};
  };
  {
    MetricsLog straight(straight_dir.path(), true);
    for (int64_t step = 1; step <= 8; ++step) straight.write(step, values(step, 0));
  }
  {
    MetricsLog crashed(resumed_dir.path(), true);  // checkpoint at 4; steps 5 and 6 are orphaned
    for (int64_t step = 1; step <= 6; ++step) crashed.write(step, values(step, step > 4 ? 100 : 0));
  }
  {
    MetricsLog resumed(resumed_dir.path(), true, /*resume_step=*/4);
    for (int64_t step = 5; step <= 8; ++step) resumed.write(step, values(step, 0));
  }
  const json straight = read_back(straight_dir.path() + "/tensorboard");
  const json resumed = read_back(resumed_dir.path() + "/tensorboard");
  std::vector<std::pair<int64_t, double>> loss, lr;
  for (int64_t step = 1; step <= 8; ++step) {
    loss.emplace_back(step, values(step, 0)[0].second);
    lr.emplace_back(step, values(step, 0)[1].second);
  }
  EXPECT_EQ(straight["scalars"]["loss"], points(loss));
  EXPECT_EQ(straight["scalars"]["lr"], points(lr));
  EXPECT_EQ(resumed["scalars"], straight["scalars"]);
  // The resumed run's file: file version, then a SessionLog START (status 1) at step 5.
  ASSERT_EQ(resumed["files"].size(), 2u);
  EXPECT_EQ(resumed["files"][1][1]["what"], "session_log");
  EXPECT_EQ(resumed["files"][1][1]["session_status"], 1);
  EXPECT_EQ(resumed["files"][1][1]["step"], 5);
}

}  // namespace
}  // namespace cocomix
