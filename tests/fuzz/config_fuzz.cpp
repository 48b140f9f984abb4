// Run configs and --set overrides: the input is the config file, then after a
// NUL byte the overrides, one "section.key=value" per line. A config that loads
// must survive its own round trip: written out by config_to_json and parsed
// again, it is the same config.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cocomix/config/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  const auto [file, rest] = fuzz::split_at_nul({reinterpret_cast<const char*>(data), size});
  std::vector<std::string> overrides;
  for (size_t begin = 0; begin < rest.size();) {
    size_t end = rest.find('\n', begin);
    if (end == std::string_view::npos) end = rest.size();
    overrides.emplace_back(rest.substr(begin, end - begin));
    begin = end + 1;
  }
  const std::string path = fuzz::write_file("config.json", file);
  fuzz::expect_success_or_clean_error([&] {
    const Config config = load_config(path, overrides);
    const nlohmann::json written = config_to_json(config);
    const nlohmann::json again = config_to_json(config_from_json(written, "round trip of " + path));
    if (again != written) fuzz::fail("config round trip changed it: " + written.dump() + " -> " + again.dump());
  });
  return 0;
}
