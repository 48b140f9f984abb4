// Links the installed library: parses a config and checks a value that only the
// library's own defaults and validation can produce, and classifies characters
// through the GPT-2 pre-tokenizer (which pulls in the utf8proc dependency).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cocomix/config/config.h"
#include "cocomix/data/gpt2_pretokenizer.h"

int main() {
  const auto config =
      cocomix::config_from_json(nlohmann::json::parse(R"({"model": {"n_embd": 64, "n_head": 4}})"), "consumer");
  if (config.model.n_embd != 64 || config.model.vocab_size != 50257) return 1;
  if (cocomix::gpt2_char_class(0x4E16) != cocomix::Gpt2CharClass::kLetter) return 1;  // 世
  if (cocomix::gpt2_pretokenize("Hello world").size() != 2) return 1;
  std::printf("cocomix consumer: n_embd=%lld\n", static_cast<long long>(config.model.n_embd));
  return 0;
}
