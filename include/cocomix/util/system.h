// Machine probes for the progress line and the run log: memory use, usable
// cores, the matmul throughput that MFU is measured against, and human-readable
// byte counts and durations. The header stays free of LibTorch.
#pragma once

#include <cstdint>
#include <string>

namespace cocomix {

/// Peak resident set size of this process so far, in bytes: getrusage's ru_maxrss, or
/// the current RSS when that is larger (the kernel updates its high-water mark lazily).
int64_t peak_rss_bytes();

/// The malloc serving this process: "tcmalloc" when gperftools' tcmalloc
/// interposes it (the apps link it: docs/benchmarks.md), "asan" for
/// AddressSanitizer's (a COCOMIX_SANITIZE build), else "glibc".
std::string memory_allocator();

/// Current resident set size of this process, in bytes (/proc/self/statm). Throws
/// RuntimeError naming the file when it cannot be read.
int64_t current_rss_bytes();

/// FLOP/s of repeated [n, n] x [n, n] matmuls (2 n^3 FLOP each) in `dtype` ("fp32" or
/// "bf16", as train.precision) on `device` ("cpu", "cuda", "cuda:1"): one warm-up
/// matmul, then matmuls until at least `seconds` have passed (at least two), with
/// device synchronization. Uses LibTorch's current thread count and draws nothing
/// from torch's random generators. Throws UsageError
/// for an unknown dtype or device, or non-positive n or seconds.
double measure_matmul_flops(const std::string& dtype, const std::string& device, int64_t n = 2048,
                            double seconds = 0.5);

/// Peak bytes the CUDA caching allocator has handed out on device `index` since
/// the process started or the last reset_cuda_memory_peak (tensors only: not the
/// allocator's cached free blocks nor the CUDA context). 0 without CUDA.
int64_t cuda_peak_allocated_bytes(int index);
/// Starts a new peak for cuda_peak_allocated_bytes; nothing without CUDA.
void reset_cuda_memory_peak(int index);

/// "0 B", "1023 B", "1.0 KiB", "1.5 MiB", "12.3 GiB" (powers of 1024, one decimal).
std::string format_bytes(int64_t bytes);

/// Rounded to the second: "42s", "3m05s", "1h02m" (hours keep counting: "27h00m");
/// "--" when negative or not finite.
std::string format_duration(double seconds);

/// Cores this process may run on: the CPU affinity mask, further limited by a cgroup
/// CPU quota when there is one (v2 /sys/fs/cgroup/cpu.max, or v1 cpu.cfs_quota_us /
/// cpu.cfs_period_us). At least 1.
int64_t available_cores();

/// Cores granted by a cgroup CPU quota written "QUOTA PERIOD" (the v2 cpu.max text;
/// quota "max", or -1 in v1, means unlimited): ceil(QUOTA / PERIOD), or -1 when
/// unlimited or unparseable.
int64_t cgroup_cpu_limit(const std::string& cpu_max);

}  // namespace cocomix
