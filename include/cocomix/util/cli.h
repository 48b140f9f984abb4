// Command-line parsing shared by the apps (CLI11, header-only): --help and
// --version exit 0, every other parse error is one line on stderr and exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {

/// Validators for whole-number options whose errors say what is wanted
/// ("must be >= 1, got 0"), where CLI11's PositiveNumber prints its float range.
inline CLI::Validator at_least(long long minimum) {
  return CLI::Validator(
      [minimum](std::string& value) -> std::string {
        long long number = 0;
        size_t used = 0;
        try {
          number = std::stoll(value, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != value.size()) return "expected a whole number, got \"" + value + "\"";
        if (number < minimum) return "must be >= " + std::to_string(minimum) + ", got " + value;
        return "";
      },
      ">= " + std::to_string(minimum));
}
inline CLI::Validator positive() { return at_least(1); }
inline CLI::Validator non_negative() { return at_least(0); }

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
