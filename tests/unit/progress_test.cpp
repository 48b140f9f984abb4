// The progress lines: exact strings for a typical line, unknown values, the end of
// training, and the thousands separators of tok/s.
#include "cocomix/util/progress.h"

#include <gtest/gtest.h>

#include <limits>

namespace cocomix {
namespace {

ProgressFields typical() {
  ProgressFields f;
  f.step = 120;
  f.max_steps = 1000;
  f.loss = 3.21449;
  f.lr = 5.4e-4;
  f.grad_norm = 0.8123;
  f.tokens_per_second = 12345.4;
  f.mfu = 0.4123;
  f.elapsed_seconds = 25.0;
  f.steps_this_session = 100;  // resumed at step 20: ETA = 25 s / 100 steps * 880 steps left = 220 s
  return f;
}

TEST(Progress, TypicalLine) {
  EXPECT_EQ(format_progress_line(typical()),
            "step  120/1000 | loss 3.2145 | lr 5.40e-04 | gnorm 0.812 | tok/s 12,345 | mfu 41.2% | eta 3m40s");
}

TEST(Progress, UnknownValuesAndSkippedSteps) {
  auto f = typical();
  f.step = 0;
  f.loss = -std::numeric_limits<double>::quiet_NaN();
  f.mfu = -1;
  f.tokens_per_second = -1;
  f.steps_this_session = 0;
  f.skipped_steps = 2;
  EXPECT_EQ(format_progress_line(f),
            "step    0/1000 | loss nan | lr 5.40e-04 | gnorm 0.812 | tok/s -- | mfu -- | eta -- | skipped 2");
}

TEST(Progress, LastStepHasNoTimeLeft) {
  auto f = typical();
  f.step = 1000;
  f.elapsed_seconds = 4000;
  f.steps_this_session = 980;
  f.mfu = 0.05;
  f.lr = 6e-5;
  EXPECT_EQ(format_progress_line(f),
            "step 1000/1000 | loss 3.2145 | lr 6.00e-05 | gnorm 0.812 | tok/s 12,345 | mfu 5.0% | eta 0s");
  f.step = 999;  // 4000 s / 980 steps * 1 step = 4.08 s
  EXPECT_EQ(format_progress_line(f).substr(format_progress_line(f).rfind('|')), "| eta 4s");
}

TEST(Progress, ThousandsSeparators) {
  EXPECT_EQ(format_thousands(0), "0");
  EXPECT_EQ(format_thousands(999.4), "999");
  EXPECT_EQ(format_thousands(999.5), "1,000");
  EXPECT_EQ(format_thousands(123456), "123,456");
  EXPECT_EQ(format_thousands(1234567), "1,234,567");
  EXPECT_EQ(format_thousands(-3), "--");
  EXPECT_EQ(format_thousands(std::numeric_limits<double>::infinity()), "--");
}

TEST(Progress, TokenizeLine) {
  TokenizeProgressFields f;
  f.disk_bytes_done = 420;
  f.disk_bytes_total = 1000;
  f.text_bytes = 126353408;  // 120.5 MiB in 3.59 s: 35.2 MB/s
  f.documents = 12345;
  f.tokens = 30123456;
  f.elapsed_seconds = 3.59;  // 42% read: 4.96 s to go
  EXPECT_EQ(format_tokenize_progress_line(f),
            " 42.0% | 120.5 MiB | 35.2 MB/s | docs 12,345 | tokens 30,123,456 | eta 5s");
  EXPECT_EQ(format_tokenize_progress_line(TokenizeProgressFields{}),
            "  0.0% | 0 B | -- MB/s | docs 0 | tokens 0 | eta --");
}

TEST(Progress, SaeLine) {
  SaeProgressFields f;
  f.step = 120;
  f.max_steps = 1000;
  f.nmse = 0.12344;
  f.fvu = 0.04561;
  f.aux_loss = 0.789;
  f.dead_fraction = 0.1234;
  f.tokens_per_second = 12345.4;
  f.elapsed_seconds = 25.0;
  f.steps_this_session = 100;  // 25 s / 100 steps * 880 steps left = 220 s
  EXPECT_EQ(format_sae_progress_line(f),
            "step  120/1000 | nmse 0.1234 | fvu 0.0456 | aux 0.7890 | dead 12.3% | tok/s 12,345 | eta 3m40s");
  f.steps_this_session = 0;
  f.tokens_per_second = -1;
  f.nmse = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(format_sae_progress_line(f),
            "step  120/1000 | nmse nan | fvu 0.0456 | aux 0.7890 | dead 12.3% | tok/s -- | eta --");
}

}  // namespace
}  // namespace cocomix
