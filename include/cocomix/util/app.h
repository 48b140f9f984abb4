// Shared entry-point wrapper of the apps: runs the body, turns every exception
// (ours, LibTorch's, the standard library's) into one "error: ..." line on
// stderr and the documented exit code, so no app ever ends in a crash.
#pragma once

#include <functional>

namespace cocomix {

/// Runs `body` and returns its exit code, or 2 for UsageError, 1 for anything else.
int run_app(const std::function<int()>& body);

}  // namespace cocomix
