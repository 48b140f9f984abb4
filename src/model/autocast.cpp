// AutocastScope: mirrors what torch.autocast's __enter__/__exit__ do in Python.
// Tf32Scope: torch.backends.cuda.matmul.fp32_precision, through the same setting.
#include "cocomix/model/autocast.h"

#include <ATen/autocast_mode.h>

#include "cocomix/util/cpu_features.h"
#include "cocomix/util/error.h"

namespace cocomix {
std::string resolve_precision(const std::string& precision, c10::DeviceType device) {
  if (precision != "auto") return precision;
  if (device == c10::DeviceType::CUDA) return "bf16";
  return cpu_has_amx_bf16() ? "bf16" : "fp32";
}

AutocastScope::AutocastScope(c10::DeviceType device, bool enabled) : device_(device), enabled_(enabled) {
  previous_enabled_ = at::autocast::is_autocast_enabled(device_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, enabled_);
  if (!enabled_) return;
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (enabled_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
}

Tf32Scope::Tf32Scope(bool enabled)
    : previous_(at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL)) {
  at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL,
                                          enabled ? at::Float32Precision::TF32 : at::Float32Precision::IEEE);
}

Tf32Scope::~Tf32Scope() {
  at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL, previous_);
}

TeacherPrecision parse_teacher_precision(const std::string& name, const std::string& field) {
  if (name == "fp32") return TeacherPrecision::kFp32;
  if (name == "tf32") return TeacherPrecision::kTf32;
  if (name == "bf16") return TeacherPrecision::kBf16;
  throw UsageError(field + ": must be \"fp32\", \"tf32\" or \"bf16\", got \"" + name + "\"");
}

std::string name_of(TeacherPrecision precision) {
  switch (precision) {
    case TeacherPrecision::kFp32:
      return "fp32";
    case TeacherPrecision::kTf32:
      return "tf32";
    case TeacherPrecision::kBf16:
      return "bf16";
  }
  return "?";
}

TeacherPrecisionScope::TeacherPrecisionScope(c10::DeviceType device, TeacherPrecision precision)
    : autocast_(device, precision == TeacherPrecision::kBf16), tf32_(precision == TeacherPrecision::kTf32) {}

}  // namespace cocomix
