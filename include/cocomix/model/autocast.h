// RAII scope for automatic mixed precision (bf16 autocast, fp32 master weights)
// on CPU or CUDA: LibTorch's C++ API has no `torch.autocast` context manager.
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace cocomix {

/// Resolves train.precision to "bf16" or "fp32" for `device`. "auto" means bf16
/// on CUDA, and on CPU bf16 only where the CPU has AMX-BF16 tiles: without them
/// a bf16 matmul runs at about half the fp32 rate (measured: docs/benchmarks.md).
std::string resolve_precision(const std::string& precision, c10::DeviceType device);

/// Sets bf16 autocast for `device` on (`enabled`) or off while alive, whatever
/// the enclosing state (a frozen fp32 teacher runs inside the student's bf16
/// step); restores the previous state, and clears the cast cache at the
/// outermost enabled exit, on destruction.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool enabled_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_;
};

}  // namespace cocomix
