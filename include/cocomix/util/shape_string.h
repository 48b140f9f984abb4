// A tensor's shape as error messages write it: "[2, 3]".
#pragma once

#include <c10/util/ArrayRef.h>

#include <sstream>
#include <string>

namespace cocomix {

inline std::string shape_string(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;  // c10 writes "[2, 3]"
  return out.str();
}

}  // namespace cocomix
