// run_app: the one place where exceptions become one-line errors and exit codes.
#include "cocomix/util/app.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

// LibTorch messages carry a multi-line backtrace; keep the first line only.
std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

int run_app(const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e.what()).c_str());
    return kExitUsage;
  } catch (const RuntimeError& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e.what()).c_str());
    return kExitRuntime;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e.what_without_backtrace()).c_str());
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", first_line(e.what()).c_str());
    return kExitRuntime;
  }
}

}  // namespace cocomix
