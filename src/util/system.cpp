// Process and machine probes (Linux): rusage and /proc for memory, affinity and
// cgroup quota for cores, a timed LibTorch matmul for peak FLOP/s, the CUDA
// caching allocator's peak, and the formatting of byte counts and durations for log lines.
#include "cocomix/util/system.h"

#include <dlfcn.h>
#include <sched.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#ifdef COCOMIX_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

torch::ScalarType matmul_dtype(const std::string& dtype) {
  if (dtype == "fp32") return torch::kFloat32;
  if (dtype == "bf16") return torch::kBFloat16;
  throw UsageError("measure_matmul_flops: dtype must be \"fp32\" or \"bf16\", got \"" + dtype + "\"");
}

torch::Device matmul_device(const std::string& device) {
  try {
    torch::Device parsed(device);
    if (parsed.is_cuda() && !torch::cuda::is_available())
      throw UsageError("measure_matmul_flops: device \"" + device + "\" requested but CUDA is not available");
    return parsed;
  } catch (const c10::Error&) {
    throw UsageError("measure_matmul_flops: unknown device \"" + device + "\" (expected cpu or cuda[:N])");
  }
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

/// The first line of a small system file, or "" when it is missing.
std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

int64_t peak_rss_bytes() {
  rusage usage{};
  const int64_t peak = getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<int64_t>(usage.ru_maxrss) * 1024 : 0;  // KiB
  // The kernel updates its high-water mark lazily: it can trail the current RSS.
  return std::max(peak, current_rss_bytes());
}

std::string memory_allocator() {
  // tcmalloc exports its own entry points next to the malloc it replaces; so does the ASan runtime.
  if (dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr) return "tcmalloc";
  if (dlsym(RTLD_DEFAULT, "__asan_init") != nullptr) return "asan";
  return "glibc";
}

int64_t current_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  int64_t total_pages = 0, resident_pages = 0;
  if (!(in >> total_pages >> resident_pages)) throw RuntimeError("/proc/self/statm: cannot read the resident set size");
  return resident_pages * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

double measure_matmul_flops(const std::string& dtype, const std::string& device, int64_t n, double seconds) {
  const auto type = matmul_dtype(dtype);
  const auto dev = matmul_device(device);
  if (n <= 0 || !(seconds > 0))
    throw UsageError("measure_matmul_flops: n and seconds must be positive, got n = " + std::to_string(n) +
                     ", seconds = " + std::to_string(seconds));
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(type).device(dev);
  // Constant operands: a dense matmul's speed does not depend on the values, and
  // drawing them would move torch's default generator, i.e. a run's dropout stream.
  const auto a = torch::full({n, n}, 1.0 / static_cast<double>(n), options);  // [n, n]
  const auto b = torch::full({n, n}, 0.5, options);                           // [n, n]
  auto c = torch::matmul(a, b);                  // warm-up: kernels chosen, memory allocated
  synchronize(dev);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  int64_t count = 0;
  double elapsed = 0;
  while (count < 2 || elapsed < seconds) {
    c = torch::matmul(a, b);
    ++count;
    synchronize(dev);
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  const double nd = static_cast<double>(n);
  return 2.0 * nd * nd * nd * static_cast<double>(count) / elapsed;
}

int64_t cuda_peak_allocated_bytes(int index) {
#ifdef COCOMIX_WITH_CUDA
  if (!torch::cuda::is_available()) return 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
#else
  (void)index;
  return 0;
#endif
}

void reset_cuda_memory_peak(int index) {
#ifdef COCOMIX_WITH_CUDA
  if (torch::cuda::is_available())
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

std::string format_bytes(int64_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const double magnitude = std::fabs(static_cast<double>(bytes));
  if (magnitude < 1024) return std::to_string(bytes) + " B";
  double value = magnitude / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%s%.1f %s", bytes < 0 ? "-" : "", value, units[unit]);
  return text;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const long long total = std::llround(seconds);
  char text[32];
  if (total < 60)
    std::snprintf(text, sizeof text, "%llds", total);
  else if (total < 3600)
    std::snprintf(text, sizeof text, "%lldm%02llds", total / 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%lldh%02lldm", total / 3600, total % 3600 / 60);
  return text;
}

int64_t cgroup_cpu_limit(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota;
  int64_t period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return -1;
  try {
    size_t used = 0;
    const long long q = std::stoll(quota, &used);
    if (used != quota.size() || q <= 0) return -1;
    return (q + period - 1) / period;
  } catch (const std::exception&) {
    return -1;
  }
}

int64_t available_cores() {
  int64_t cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int64_t>(std::thread::hardware_concurrency());
  // cgroup v2 has one file "QUOTA PERIOD"; v1 has two, which read the same way once joined.
  std::string line = read_first_line("/sys/fs/cgroup/cpu.max");
  if (line.empty())
    line = read_first_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") + " " +
           read_first_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  const int64_t limit = cgroup_cpu_limit(line);
  if (limit > 0 && limit < cores) cores = limit;
  return cores > 0 ? cores : 1;
}

}  // namespace cocomix
