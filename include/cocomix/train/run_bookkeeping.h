// What every training loop of the framework (the model trainer, the SAE
// trainer) keeps besides its model: the wall clock of the session and of each
// logging interval, the cadence rule, which step the newest checkpoint holds
// (a stop saves only what is not saved yet), the stop line, and the one field
// list through which resumable counters are both written and read.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "cocomix/util/json_field.h"

namespace cocomix {

/// True at every `every`-th step (every > 0) and at the last step of the run.
inline bool due(int64_t step, int64_t every, int64_t max_steps) {
  return (every > 0 && step % every == 0) || step == max_steps;
}

/// Wall-clock only (never saved): tokens per second over each logging interval
/// and the time since the session started.
class RunClock {
 public:
  /// Starts the session and its first interval at `step`.
  void start(int64_t step);
  void add_tokens(int64_t tokens) { interval_tokens_ += tokens; }
  /// Tokens per second since the interval began (0 when no time passed); starts the next interval.
  double end_interval();
  double elapsed_seconds() const;
  /// Steps done in this session (since start).
  int64_t steps_this_session(int64_t step) const { return step - first_step_; }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point session_start_ = Clock::now();
  Clock::time_point interval_start_ = Clock::now();
  int64_t interval_tokens_ = 0;
  int64_t first_step_ = 0;
};

/// The step of the newest checkpoint on disk: -1 for a fresh run, the loaded
/// step for a resumed one, so that a run resumed and stopped before its first
/// step rewrites nothing.
class SaveTracker {
 public:
  explicit SaveTracker(int64_t saved_step = -1) : saved_step_(saved_step) {}
  void saved(int64_t step) { saved_step_ = step; }
  bool is_saved(int64_t step) const { return saved_step_ == step; }

 private:
  int64_t saved_step_;
};

/// "stopped by signal N at step S; continue with --resume".
std::string stopped_line(int64_t step);

/// Resumable counters go through one list, `visit_state(visitor)`, that names
/// each field once: StateWriter puts them into trainer_state.json, StateReader
/// reads them back (RuntimeError naming the file and field when one is missing
/// or has the wrong type).
class StateWriter {
 public:
  explicit StateWriter(nlohmann::json& out) : out_(out) {}
  template <typename T>
  void operator()(const char* key, const T& value) {
    out_[key] = value;
  }

 private:
  nlohmann::json& out_;
};

class StateReader {
 public:
  StateReader(const nlohmann::json& in, std::string source) : in_(in), source_(std::move(source)) {}
  template <typename T>
  void operator()(const char* key, T& value) {
    value = json_field<T>(in_, key, source_);
  }

 private:
  const nlohmann::json& in_;
  std::string source_;
};

}  // namespace cocomix
