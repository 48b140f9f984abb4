// The library's one logger (spdlog behind a narrow facade). LibTorch bundles its
// own {fmt}, which clashes with the one Debian's spdlog is built against, so
// spdlog is only ever included by src/util/log.cpp; callers pass ready strings.
#pragma once

#include <string>

namespace cocomix {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

/// Messages below `level` are dropped. Default: kInfo.
void set_log_level(LogLevel level);
/// Only rank 0 prints unless `all_ranks` (set once by the data-parallel set-up).
void set_log_rank(int rank, bool all_ranks = false);

void log_debug(const std::string& message);
void log_info(const std::string& message);
void log_warn(const std::string& message);
void log_error(const std::string& message);

}  // namespace cocomix
