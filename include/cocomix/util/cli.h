// Command-line parsing shared by the apps (CLI11, header-only): --help and
// --version exit 0, every other parse error is one line on stderr and exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "cocomix/util/error.h"

namespace cocomix {

/// Parses argv; returns an exit code when the app must stop now (help or a usage error).
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::printf("%s", app.help("", CLI::AppFormatMode::All).c_str());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s: %s (see --help)\n", app.get_name().c_str(), e.what());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace cocomix
