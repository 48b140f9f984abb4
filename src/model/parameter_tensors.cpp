// parameter_tensors and the strict, check-first load_parameter_tensors.
#include "cocomix/model/parameter_tensors.h"

#include <torch/torch.h>

#include "cocomix/util/error.h"
#include "cocomix/util/shape_string.h"

namespace cocomix {
namespace {

}  // namespace

TensorMap parameter_tensors(const torch::nn::Module& module, const std::string& prefix) {
  TensorMap tensors;
  for (const auto& item : module.named_parameters()) tensors.emplace(prefix + item.key(), item.value().detach());
  return tensors;
}

void load_parameter_tensors(const torch::OrderedDict<std::string, torch::Tensor>& parameters, const TensorMap& tensors,
                            const std::string& source, const std::string& owner, const std::string& prefix) {
  const auto fail = [&](const std::string& name, const std::string& what) {
    throw RuntimeError(source + ": tensor " + prefix + name + ": " + what);
  };
  for (const auto& item : parameters) {
    const auto found = tensors.find(item.key());
    if (found == tensors.end()) fail(item.key(), "missing");
    if (found->second.sizes() != item.value().sizes())
      fail(item.key(), "shape " + shape_string(found->second.sizes()) + " does not match " + owner + " " +
                           shape_string(item.value().sizes()));
  }
  for (const auto& item : tensors)
    if (!parameters.contains(item.first)) fail(item.first, "unexpected");
  torch::NoGradGuard no_grad;
  for (const auto& item : parameters) item.value().copy_(tensors.at(item.key()));
}

}  // namespace cocomix
