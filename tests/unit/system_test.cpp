// Machine probes: byte and duration formatting (exact strings), cgroup quota
// parsing, core count against the affinity mask, RSS growth after touching
// memory, and the matmul FLOP/s probe (positive and finite only: no timing).
#include "cocomix/util/system.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <vector>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

TEST(System, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(int64_t{5} << 20), "5.0 MiB");
  EXPECT_EQ(format_bytes((int64_t{7} << 29)), "3.5 GiB");
  EXPECT_EQ(format_bytes(int64_t{3} << 40), "3.0 TiB");
  EXPECT_EQ(format_bytes(-2048), "-2.0 KiB");
}

TEST(System, FormatDuration) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(42), "42s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(59.6), "1m00s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(27 * 3600 + 59), "27h00m");
  EXPECT_EQ(format_duration(-1), "--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "--");
}

TEST(System, CgroupCpuLimit) {
  EXPECT_EQ(cgroup_cpu_limit("max 100000"), -1);
  EXPECT_EQ(cgroup_cpu_limit("-1 100000"), -1);  // cgroup v1: no quota
  EXPECT_EQ(cgroup_cpu_limit("200000 100000"), 2);
  EXPECT_EQ(cgroup_cpu_limit("150000 100000\n"), 2);  // 1.5 cores: rounded up
  EXPECT_EQ(cgroup_cpu_limit("50000 100000"), 1);
  EXPECT_EQ(cgroup_cpu_limit(""), -1);
  EXPECT_EQ(cgroup_cpu_limit(" "), -1);
  EXPECT_EQ(cgroup_cpu_limit("12x 100000"), -1);
}

TEST(System, AvailableCoresWithinAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const int64_t cores = available_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, CPU_COUNT(&set));
}

TEST(System, ResidentSetGrowsWithTouchedMemory) {
  const int64_t before = current_rss_bytes();
  EXPECT_GT(before, 0);
  const size_t size = size_t{64} << 20;
  std::vector<char> block(size);
  for (size_t i = 0; i < size; i += 4096) block[i] = static_cast<char>(i);  // fault every page in
  const int64_t after = current_rss_bytes();
  EXPECT_GE(after - before, int64_t{48} << 20);  // 64 MiB touched; slack for pages the allocator reused
  EXPECT_GE(peak_rss_bytes(), after);
  EXPECT_EQ(block[4096], static_cast<char>(4096));
}

// The unit tests are not linked against tcmalloc (the apps are: integration.test_bench_app).
TEST(System, MemoryAllocatorIsGlibcWithoutTcmalloc) { EXPECT_EQ(memory_allocator(), "glibc"); }

TEST(System, MatmulFlopsIsPositiveAndFinite) {
  for (const char* dtype : {"fp32", "bf16"}) {
    const double flops = measure_matmul_flops(dtype, "cpu", 64, 0.01);
    EXPECT_GT(flops, 0) << dtype;
    EXPECT_TRUE(std::isfinite(flops)) << dtype;
  }
}

TEST(System, MatmulFlopsRejectsBadArguments) {
  try {
    measure_matmul_flops("fp16", "cpu", 64, 0.01);
    FAIL() << "fp16 accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "measure_matmul_flops: dtype must be \"fp32\" or \"bf16\", got \"fp16\"");
  }
  EXPECT_THROW(measure_matmul_flops("fp32", "tpu", 64, 0.01), UsageError);
  EXPECT_THROW(measure_matmul_flops("fp32", "cpu", 0, 0.01), UsageError);
  EXPECT_THROW(measure_matmul_flops("fp32", "cpu", 64, 0), UsageError);
}

}  // namespace
}  // namespace cocomix
