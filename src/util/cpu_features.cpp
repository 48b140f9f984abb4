// CPU feature flags from /proc/cpuinfo, read once.
#include "cocomix/util/cpu_features.h"

#include <fstream>
#include <string>

namespace cocomix {

bool cpu_has_amx_bf16() {
  static const bool has = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string word;
    while (cpuinfo >> word)
      if (word == "amx_bf16") return true;
    return false;
  }();
  return has;
}

}  // namespace cocomix
