// RAII scopes for the precision of matmuls: automatic mixed precision (bf16
// autocast, fp32 master weights) on CPU or CUDA, since LibTorch's C++ API has no
// `torch.autocast` context manager, and TF32 tensor-core math for CUDA fp32
// matmuls; and the teacher's precision, which combines the two.
#pragma once

#include <ATen/Context.h>
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

/// Allows TF32 tensor-core math (a 10-bit mantissa in the products, fp32
/// accumulation) for CUDA fp32 matmuls while alive, or forbids it; restores the
/// previous setting on destruction. Global, like torch.backends.cuda.matmul.
/// fp32_precision in Python. CPU matmuls stay IEEE fp32 either way.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool enabled);
  ~Tf32Scope();
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  at::Float32Precision previous_;
};

/// concept.teacher_precision: how the frozen teacher and SAE compute. kTf32 is
/// fp32 with TF32 matmuls on CUDA, and exactly kFp32 on CPU.
enum class TeacherPrecision { kFp32, kTf32, kBf16 };

/// "fp32", "tf32" or "bf16"; throws UsageError naming `field` otherwise.
TeacherPrecision parse_teacher_precision(const std::string& name, const std::string& field);
std::string name_of(TeacherPrecision precision);

/// Runs the teacher at `precision` while alive, whatever the caller's autocast
/// and TF32 settings (the teacher runs inside the student's step): bf16 autocast
/// for kBf16, fp32 otherwise, with TF32 matmuls only for kTf32.
class TeacherPrecisionScope {
 public:
  TeacherPrecisionScope(c10::DeviceType device, TeacherPrecision precision);

 private:
  AutocastScope autocast_;
  Tf32Scope tf32_;
};

}  // namespace cocomix
