// What every fuzz target shares: the input written to a file (the parsers read
// files, as the apps do), and the one outcome allowed besides success. A parser
// may refuse an input only with cocomix's UsageError or RuntimeError carrying a
// one-line message, which the apps print as their one error line; any other
// exception, a crash or a sanitizer report is a finding.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include "cocomix/util/error.h"

namespace cocomix::fuzz {

/// A directory of this process's own, removed at exit; on /dev/shm where there is one.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    auto path = base / ("cocomix-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return path;
  }();
  return dir;
}

/// Writes `bytes` to scratch_dir()/name and returns the path.
inline std::string write_file(const std::string& name, std::string_view bytes) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path.string();
}

/// The part of `input` before the first NUL byte, and the rest after it (empty without one):
/// how targets that read two files (a vocabulary and its merges, a task and its labels) or a
/// file and extra arguments take them from one input.
inline std::pair<std::string_view, std::string_view> split_at_nul(std::string_view input) {
  const auto nul = input.find('\0');
  if (nul == std::string_view::npos) return {input, {}};
  return {input.substr(0, nul), input.substr(nul + 1)};
}

/// Aborts (a finding) with `what`.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::abort();
}

/// Runs `parse`; a UsageError or RuntimeError with a non-empty one-line message is an accepted
/// refusal, anything else that escapes is a finding.
template <typename Parse>
void expect_success_or_clean_error(Parse&& parse) {
  try {
    parse();
  } catch (const UsageError& e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) fail("UsageError not one line: " + message);
  } catch (const RuntimeError& e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) fail("RuntimeError not one line: " + message);
  } catch (const std::exception& e) {
    fail(std::string("escaped exception (not a cocomix error, so the app's line names no file): ") + e.what());
  }
}

}  // namespace cocomix::fuzz
