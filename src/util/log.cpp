// spdlog-backed implementation of util/log.h. Compiled without LibTorch's include
// path (see CMakeLists.txt) so that spdlog sees the {fmt} it was built with.
#include "cocomix/util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace cocomix {
namespace {

struct LoggerState {
  std::shared_ptr<spdlog::logger> logger;
  int rank = 0;
  bool all_ranks = false;

  LoggerState() : logger(spdlog::stderr_color_mt("cocomix")) {
    logger->set_pattern("[%Y-%m-%d %H:%M:%S] [%^%l%$] %v");
    logger->set_level(spdlog::level::info);
  }
};

LoggerState& state() {
  static LoggerState instance;
  return instance;
}

bool quiet_rank() { return state().rank != 0 && !state().all_ranks; }

}  // namespace

void set_log_level(LogLevel level) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  state().logger->set_level(kLevels[static_cast<int>(level)]);
}

void set_log_rank(int rank, bool all_ranks) {
  state().rank = rank;
  state().all_ranks = all_ranks;
  if (all_ranks) state().logger->set_pattern("[%Y-%m-%d %H:%M:%S] [rank " + std::to_string(rank) + "] [%^%l%$] %v");
}

void log_debug(const std::string& message) {
  if (!quiet_rank()) state().logger->debug(message);
}
void log_info(const std::string& message) {
  if (!quiet_rank()) state().logger->info(message);
}
void log_warn(const std::string& message) {
  if (!quiet_rank()) state().logger->warn(message);
}
// Errors print on every rank: a failing rank must say so even when it is not rank 0.
void log_error(const std::string& message) { state().logger->error(message); }

}  // namespace cocomix
