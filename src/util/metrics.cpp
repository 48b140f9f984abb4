// metrics.jsonl + TensorBoard sink. Numbers are formatted by hand (std::to_chars,
// shortest round trip) so that integers stay integers and a resumed run's file
// is byte-identical to a straight run's.
#include "cocomix/util/metrics.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/tensorboard.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string format_number(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[32];
  std::to_chars_result result;
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0)  // 2^53: exact as int64
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<int64_t>(value));
  else
    result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// The lines of metrics.jsonl with step <= resume_step, each with its newline.
std::string records_up_to(const std::string& path, const std::string& text, int64_t resume_step) {
  std::string kept;
  size_t begin = 0;
  int64_t line_number = 0;
  while (begin < text.size()) {
    ++line_number;
    const size_t newline = text.find('\n', begin);
    const bool complete = newline != std::string::npos;
    const std::string line = text.substr(begin, complete ? newline - begin : std::string::npos);
    begin = complete ? newline + 1 : text.size();
    if (line.empty()) continue;
    const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool valid = record.is_object() && record.contains("step") && record["step"].is_number_integer();
    if (!valid) {
      if (!complete) break;  // the last line was cut short by a crash: drop it
      throw RuntimeError(path + ": line " + std::to_string(line_number) +
                         ": not a JSON object with an integer \"step\" (cannot resume the metrics log)");
    }
    if (record["step"].get<int64_t>() <= resume_step) kept += line + "\n";
  }
  return kept;
}

}  // namespace

std::string format_metrics_record(int64_t step, const Scalars& scalars, const std::string& path) {
  std::string line = "{\"step\": " + std::to_string(step);
  std::set<std::string> names;
  for (const auto& [name, value] : scalars) {
    if (name == "step") throw RuntimeError(path + ": metric name \"step\" is reserved for the record's step");
    if (!names.insert(name).second)
      throw RuntimeError(path + ": metric \"" + name + "\" appears twice in the record for step " +
                         std::to_string(step));
    line += ", " + json(name).dump() + ": " + format_number(value);
  }
  return line + "}";
}

MetricsLog::MetricsLog(const std::string& dir, bool tensorboard, int64_t resume_step)
    : path_((fs::path(dir) / "metrics.jsonl").string()) {
  ensure_writable_directory(dir);
  auto mode = std::ios::binary | std::ios::trunc;
  if (resume_step >= 0 && fs::exists(path_)) {
    write_file_atomically(path_, records_up_to(path_, read_whole_file(path_), resume_step));
    mode = std::ios::binary | std::ios::app;
  }
  out_.open(path_, mode);
  if (!out_) throw RuntimeError(path_ + ": cannot open for writing");
  if (tensorboard) {
    tensorboard_ = std::make_unique<TensorBoardWriter>((fs::path(dir) / "tensorboard").string());
    tensorboard_->add_session_start(resume_step >= 0 ? resume_step + 1 : 0);
    tensorboard_->flush();
  }
}

MetricsLog::~MetricsLog() = default;

void MetricsLog::write(int64_t step, const Scalars& scalars) {
  out_ << format_metrics_record(step, scalars, path_) << '\n';
  out_.flush();
  if (!out_) throw RuntimeError(path_ + ": write failed (disk full or not writable?)");
  if (tensorboard_) {
    for (const auto& [name, value] : scalars) tensorboard_->add_scalar(name, value, step);
    tensorboard_->flush();
  }
}

}  // namespace cocomix
