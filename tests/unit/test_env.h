// The directories ctest passes to the unit tests through the environment.
#pragma once

#include <cstdlib>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {

/// The value of environment variable `name`; throws when unset (run through ctest).
inline std::string test_env_dir(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) throw RuntimeError(std::string(name) + " is not set (run the tests through ctest)");
  return value;
}

}  // namespace cocomix
