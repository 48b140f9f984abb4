// metrics.jsonl: exact record formatting (integers, shortest doubles, null for
// NaN/inf, escaped names), rejected names, and resume: a crashed-then-resumed
// log is byte-identical to a straight run's. The TensorBoard side of a resume is
// read back by TensorBoard itself in tensorboard_test.cpp.
#include "cocomix/util/metrics.h"

#include <gtest/gtest.h>

#include "temp_dir.h"
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;

using cocomix::testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The record of step `step` in a run whose values depend only on the step (a deterministic trainer).
Scalars record(int64_t step, double offset = 0) {
  return {{"loss", 10.0 / static_cast<double>(step) + offset},
          {"tokens", 4096.0 * static_cast<double>(step)},
          {"lr", 1e-3 * static_cast<double>(step)}};
}

std::string error_of(int64_t step, const Scalars& scalars) {
  try {
    format_metrics_record(step, scalars, "out/metrics.jsonl");
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "";
}

TEST(Metrics, RecordFormatting) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(format_metrics_record(3, {{"loss", 3.25}, {"tokens", 4096.0}, {"mfu", -1.0}, {"zero", -0.0}}),
            "{\"step\": 3, \"loss\": 3.25, \"tokens\": 4096, \"mfu\": -1, \"zero\": 0}");
  EXPECT_EQ(
      format_metrics_record(7, {{"lr", 6e-4}, {"third", 1.0 / 3}, {"big", 1e20}, {"huge_int", 9007199254740993.0}}),
      "{\"step\": 7, \"lr\": 6e-04, \"third\": 0.3333333333333333, \"big\": 1e+20, \"huge_int\": 9007199254740992}");
  EXPECT_EQ(format_metrics_record(-1, {{"nan", nan}, {"inf", inf}, {"minus_inf", -inf}}),
            "{\"step\": -1, \"nan\": null, \"inf\": null, \"minus_inf\": null}");
  EXPECT_EQ(format_metrics_record(0, {{"a\"b\\c", 1.5}}), "{\"step\": 0, \"a\\\"b\\\\c\": 1.5}");
  EXPECT_EQ(format_metrics_record(12, {}), "{\"step\": 12}");
}

TEST(Metrics, RecordsReadBackExactly) {
  const Scalars values = {{"a", 0.1}, {"b", 2.0 / 3}, {"c", 1e-300}, {"d", -123456.789}, {"e", 3e-7}, {"f", 1e16 + 2}};
  const auto parsed = nlohmann::json::parse(format_metrics_record(42, values));
  EXPECT_EQ(parsed["step"].get<int64_t>(), 42);
  for (const auto& [name, value] : values) EXPECT_EQ(parsed[name].get<double>(), value) << name;
}

TEST(Metrics, RejectsReservedAndRepeatedNames) {
  EXPECT_EQ(error_of(5, {{"step", 1}}), "out/metrics.jsonl: metric name \"step\" is reserved for the record's step");
  EXPECT_EQ(error_of(5, {{"loss", 1}, {"lr", 2}, {"loss", 3}}),
            "out/metrics.jsonl: metric \"loss\" appears twice in the record for step 5");
}

TEST(Metrics, WritesOneFlushedLinePerRecord) {
  TempDir dir;
  const std::string out = dir.path() + "/run";
  MetricsLog log(out, /*tensorboard=*/false);
  EXPECT_EQ(log.path(), out + "/metrics.jsonl");
  log.write(1, {{"loss", 2.5}});
  EXPECT_EQ(slurp(log.path()), "{\"step\": 1, \"loss\": 2.5}\n");  // visible before the log is closed
  log.write(2, {{"val_loss", 2.25}, {"val_ppl", 9.5}});
  EXPECT_EQ(slurp(log.path()), "{\"step\": 1, \"loss\": 2.5}\n{\"step\": 2, \"val_loss\": 2.25, \"val_ppl\": 9.5}\n");
  EXPECT_FALSE(fs::exists(out + "/tensorboard"));
}

TEST(Metrics, NewRunReplacesOldLog) {
  TempDir dir;
  {
    MetricsLog log(dir.path(), false);
    log.write(1, {{"loss", 9}});
  }
  MetricsLog log(dir.path(), false);
  log.write(1, {{"loss", 8}});
  EXPECT_EQ(slurp(log.path()), "{\"step\": 1, \"loss\": 8}\n");
}

TEST(Metrics, ResumedLogEqualsStraightRun) {
  TempDir straight_dir, resumed_dir;
  {
    MetricsLog straight(straight_dir.path(), false);
    for (int64_t step = 1; step <= 8; ++step) straight.write(step, record(step));
  }
  {
    // The crashed run: checkpoint at step 4, logged steps 5 and 6 with values the
    // resumed run will not reproduce, and died in the middle of a line.
    MetricsLog crashed(resumed_dir.path(), false);
    for (int64_t step = 1; step <= 6; ++step) crashed.write(step, record(step, step > 4 ? 100 : 0));
  }
  std::ofstream(resumed_dir.path() + "/metrics.jsonl", std::ios::app) << "{\"step\": 7, \"loss\": 1.4";
  {
    MetricsLog resumed(resumed_dir.path(), false, /*resume_step=*/4);
    for (int64_t step = 5; step <= 8; ++step) resumed.write(step, record(step));
  }
  const std::string expected = slurp(straight_dir.path() + "/metrics.jsonl");
  EXPECT_EQ(std::count(expected.begin(), expected.end(), '\n'), 8);
  EXPECT_EQ(slurp(resumed_dir.path() + "/metrics.jsonl"), expected);
  EXPECT_FALSE(fs::exists(resumed_dir.path() + "/metrics.jsonl.tmp"));
}

TEST(Metrics, ResumeWithoutALogStartsOne) {
  TempDir dir;
  MetricsLog log(dir.path(), false, 100);
  log.write(101, {{"loss", 1}});
  EXPECT_EQ(slurp(log.path()), "{\"step\": 101, \"loss\": 1}\n");
}

TEST(Metrics, ResumeRejectsACorruptLine) {
  TempDir dir;
  std::ofstream(dir.path() + "/metrics.jsonl") << "{\"step\": 1, \"loss\": 2}\n{\"loss\": 2}\n{\"step\": 3}\n";
  try {
    MetricsLog log(dir.path(), false, 2);
    FAIL() << "corrupt metrics.jsonl accepted";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), dir.path() +
                                         "/metrics.jsonl: line 2: not a JSON object with an integer "
                                         "\"step\" (cannot resume the metrics log)");
  }
}

TEST(Metrics, UnwritableDirectoryNamesThePath) {
  TempDir dir;
  std::ofstream(dir.path() + "/file") << "x";
  try {
    MetricsLog log(dir.path() + "/file/run", false);
    FAIL() << "created a log under a regular file";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.path() + "/file/run: cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cocomix
