// Formatting of the progress line: fixed precision per field so that lines
// stack into readable columns in a log file.
#include "cocomix/util/progress.h"

#include <cmath>
#include <cstdio>

#include "cocomix/util/system.h"

namespace cocomix {
namespace {

std::string printf_string(const char* format, double value) {
  if (std::isnan(value)) return "nan";  // glibc would print "-nan" for a NaN with the sign bit set
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string eta(int64_t step, int64_t max_steps, double elapsed_seconds, int64_t steps_this_session) {
  if (step >= max_steps) return format_duration(0);
  if (steps_this_session <= 0) return "--";
  return format_duration(elapsed_seconds / static_cast<double>(steps_this_session) *
                         static_cast<double>(max_steps - step));
}

/// "step  120/1000": the step right-aligned to the width of max_steps.
std::string step_field(int64_t step, int64_t max_steps) {
  const int width = static_cast<int>(std::to_string(max_steps).size());
  char text[64];
  std::snprintf(text, sizeof text, "step %*lld/%lld", width, static_cast<long long>(step),
                static_cast<long long>(max_steps));
  return text;
}

}  // namespace

std::string format_thousands(double value) {
  if (!std::isfinite(value) || value < 0) return "--";
  const std::string digits = std::to_string(std::llround(value));
  std::string text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text += ',';
    text += digits[i];
  }
  return text;
}

std::string format_progress_line(const ProgressFields& f) {
  std::string line = step_field(f.step, f.max_steps);
  line += " | loss " + printf_string("%.4f", f.loss);
  line += " | lr " + printf_string("%.2e", f.lr);
  line += " | gnorm " + printf_string("%.3f", f.grad_norm);
  line += " | tok/s " + format_thousands(f.tokens_per_second);
  line += " | mfu " + (f.mfu >= 0 && std::isfinite(f.mfu) ? printf_string("%.1f%%", 100 * f.mfu) : "--");
  line += " | eta " + eta(f.step, f.max_steps, f.elapsed_seconds, f.steps_this_session);
  if (f.skipped_steps > 0) line += " | skipped " + std::to_string(f.skipped_steps);
  return line;
}

std::string format_sae_progress_line(const SaeProgressFields& f) {
  std::string line = step_field(f.step, f.max_steps);
  line += " | nmse " + printf_string("%.4f", f.nmse);
  line += " | fvu " + printf_string("%.4f", f.fvu);
  line += " | aux " + printf_string("%.4f", f.aux_loss);
  line += " | dead " + printf_string("%.1f%%", 100 * f.dead_fraction);
  line += " | tok/s " + format_thousands(f.tokens_per_second);
  line += " | eta " + eta(f.step, f.max_steps, f.elapsed_seconds, f.steps_this_session);
  return line;
}

std::string format_tokenize_progress_line(const TokenizeProgressFields& f) {
  const double share = f.disk_bytes_total > 0 ? static_cast<double>(f.disk_bytes_done) / f.disk_bytes_total : 0;
  const double rate = f.elapsed_seconds > 0 ? static_cast<double>(f.text_bytes) / f.elapsed_seconds / 1e6 : -1;
  std::string line = printf_string("%5.1f%%", 100 * share);
  line += " | " + format_bytes(f.text_bytes);
  line += " | " + (rate >= 0 ? printf_string("%.1f MB/s", rate) : std::string("-- MB/s"));
  line += " | docs " + format_thousands(static_cast<double>(f.documents));
  line += " | tokens " + format_thousands(static_cast<double>(f.tokens));
  line += " | eta " + (share > 0 ? format_duration(f.elapsed_seconds * (1 - share) / share) : std::string("--"));
  return line;
}

}  // namespace cocomix
