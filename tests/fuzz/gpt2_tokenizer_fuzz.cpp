// GPT-2 tokenizer files: the vocabulary (encoder.json / vocab.json) before a
// NUL byte, the merges (vocab.bpe / merges.txt) after it. A pair that loads
// must encode and decode: decode(encode(text)) gives back valid UTF-8 text,
// and every id it produces is in the vocabulary.
#include <cstdint>
#include <string>
#include <vector>

#include "cocomix/data/gpt2_tokenizer.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  const auto [vocabulary, merges] = fuzz::split_at_nul({reinterpret_cast<const char*>(data), size});
  const std::string vocab_path = fuzz::write_file("encoder.json", vocabulary);
  const std::string merges_path = fuzz::write_file("vocab.bpe", merges);
  fuzz::expect_success_or_clean_error([&] {
    const Gpt2Tokenizer tokenizer = Gpt2Tokenizer::load_files(vocab_path, merges_path);
    const std::string text = "Hello world, it's 2024!\n\tcaf\xc3\xa9 <|endoftext|> 123";
    const std::vector<uint32_t> ids = tokenizer.encode(text);
    for (uint32_t id : ids)
      if (static_cast<int64_t>(id) >= tokenizer.vocab_size()) fuzz::fail("an id beyond the vocabulary");
    if (tokenizer.decode(ids) != text) fuzz::fail("decode(encode(text)) != text");
  });
  return 0;
}
