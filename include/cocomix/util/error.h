// The two kinds of failure every cocomix app reports as one line and an exit
// code: UsageError (bad flags or config, exit 2) and RuntimeError (bad files,
// checkpoints or data found while working, exit 1). Messages name the file and
// field and say what would fix it.
#pragma once

#include <stdexcept>
#include <string>

namespace cocomix {

/// Exit codes of every cocomix app.
enum ExitCode : int { kExitOk = 0, kExitRuntime = 1, kExitUsage = 2 };

/// A wrong command line or config: reported before any work starts, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure found while working (unreadable or corrupt files, a checkpoint
/// that does not fit the model, data out of range): exit 1.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cocomix
