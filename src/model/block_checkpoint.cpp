// run_block_checkpointed: a torch::autograd::Function whose forward runs the
// block without building its graph, and whose backward runs it again with the
// graph and back-propagates through that (the reentrant checkpoint).
#include "cocomix/model/block_checkpoint.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

#include <mutex>

#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt.h"

namespace cocomix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Generator default_generator(const torch::Tensor& x) { return at::globalContext().defaultGenerator(x.device()); }

class CheckpointedBlock : public torch::autograd::Function<CheckpointedBlock> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, BlockImpl* block) {
    // The block is kept by address: saved_data holds IValues, and the module outlives the step.
    ctx->saved_data["block"] = reinterpret_cast<int64_t>(block);
    ctx->saved_data["autocast"] = at::autocast::is_autocast_enabled(x.device().type());
    if (block->is_training()) {  // dropout draws: the recomputation must draw the same
      auto generator = default_generator(x);
      std::lock_guard<std::mutex> lock(generator.mutex());
      ctx->saved_data["rng_state"] = generator.get_state();
    }
    ctx->save_for_backward({x});
    return block->forward(x);  // grad mode is off inside a Function's forward: no graph is kept
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto* block = reinterpret_cast<BlockImpl*>(ctx->saved_data["block"].toInt());
    const auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    const bool replays_rng = ctx->saved_data.count("rng_state") > 0;
    at::Generator generator;
    torch::Tensor resume_state;
    if (replays_rng) {
      generator = default_generator(x);
      std::lock_guard<std::mutex> lock(generator.mutex());
      resume_state = generator.get_state();
      generator.set_state(ctx->saved_data["rng_state"].toTensor());
    }
    torch::Tensor y;
    {
      torch::AutoGradMode grad(true);
      AutocastScope autocast(x.device().type(), ctx->saved_data["autocast"].toBool());
      y = block->forward(x);  // [B, S, d]
    }
    if (replays_rng) {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(resume_state);
    }
    // Accumulates the block's parameter gradients as the plain backward would; returns the input's.
    torch::autograd::backward({y}, {grad_outputs[0]});
    return {x.grad(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor run_block_checkpointed(BlockImpl& block, const torch::Tensor& x) {
  return CheckpointedBlock::apply(x, &block);
}

}  // namespace cocomix
