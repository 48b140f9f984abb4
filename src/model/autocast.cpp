// AutocastScope: mirrors what torch.autocast's __enter__/__exit__ do in Python.
#include "cocomix/model/autocast.h"

#include <ATen/autocast_mode.h>

#include "cocomix/util/cpu_features.h"

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

}  // namespace cocomix
