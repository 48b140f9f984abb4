// cocomix-tokenize's inputs: text files (whole, or blank-line-separated
// blocks) and JSON-lines files, plain, .gz, .zst or .bz2. The first input
// byte picks the file name's suffixes and the reader's options; the rest is
// the file as it lies on disk (so compressed inputs fuzz the decoders too).
#include <cstdint>
#include <string>

#include "cocomix/data/document_reader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cocomix;
  if (size < 1) return 0;
  static const char* const kCompressions[] = {"", ".gz", ".zst", ".bz2"};
  const uint8_t choice = data[0];
  const bool jsonl = (choice & 1) != 0;
  const std::string name = std::string("input") + (jsonl ? ".jsonl" : ".txt") + kCompressions[(choice >> 1) & 3];
  DocumentReaderOptions options;
  options.blocks = (choice & 8) != 0;
  options.skip_bad = (choice & 16) != 0;
  if ((choice & 32) != 0) options.text_field = "body";
  const std::string path = fuzz::write_file(name, {reinterpret_cast<const char*>(data) + 1, size - 1});
  fuzz::expect_success_or_clean_error([&] {
    DocumentReader reader({path}, options);
    InputDocument document;
    while (reader.next(document)) {
      if (document.path != path) fuzz::fail("a document names another file");
      if (reader.disk_bytes_read() > reader.disk_bytes_total()) fuzz::fail("read more bytes than the file has");
    }
  });
  return 0;
}
