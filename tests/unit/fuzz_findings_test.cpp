// Inputs the fuzz targets (tests/fuzz) found that broke a parser, each kept
// as a test of the one-line error it now gets.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

std::string usage_error_of(const std::function<void()>& parse) {
  try {
    parse();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

// A --set value that is not UTF-8 was stored as a JSON string, and the first
// error message that printed it threw nlohmann's type_error 316 instead.
TEST(FuzzFindings, OverrideValueThatIsNotUtf8) {
  nlohmann::json document = {{"data", {{"seq_len", 64}}}};
  EXPECT_EQ(usage_error_of([&] { apply_override(document, "data.seq_len=64\xff\xff=0.5", "c.json"); }),
            "c.json: --set data.seq_len: the value is not valid UTF-8");
  EXPECT_EQ(document["data"]["seq_len"], 64);
}

}  // namespace
}  // namespace cocomix
