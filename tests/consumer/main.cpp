// Links the installed library: parses a config and checks a value that only the
// library's own defaults and validation can produce.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cocomix/config/config.h"

int main() {
  const auto config =
      cocomix::config_from_json(nlohmann::json::parse(R"({"model": {"n_embd": 64, "n_head": 4}})"), "consumer");
  if (config.model.n_embd != 64 || config.model.vocab_size != 50257) return 1;
  std::printf("cocomix consumer: n_embd=%lld\n", static_cast<long long>(config.model.n_embd));
  return 0;
}
