// RunClock and the stop line.
#include "cocomix/train/run_bookkeeping.h"

#include "cocomix/train/stop_signal.h"

namespace cocomix {

void RunClock::start(int64_t step) {
  session_start_ = interval_start_ = Clock::now();
  interval_tokens_ = 0;
  first_step_ = step;
}

double RunClock::end_interval() {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - interval_start_).count();
  const double rate = seconds > 0 ? static_cast<double>(interval_tokens_) / seconds : 0;
  interval_start_ = now;
  interval_tokens_ = 0;
  return rate;
}

double RunClock::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - session_start_).count();
}

std::string stopped_line(int64_t step) {
  return "stopped by signal " + std::to_string(stop_signal()) + " at step " + std::to_string(step) +
         "; continue with --resume";
}

}  // namespace cocomix
