// Activation checkpointing: with every block, every other block or none
// checkpointed, one training step's loss, every gradient and the random
// stream after it are bitwise the same, with dropout on, in fp32 and under
// bf16 autocast; the checkpointed blocks are really in the graph.
#include "cocomix/model/block_checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <set>
#include <string>

#include "cocomix/model/autocast.h"
#include "cocomix/model/gpt.h"
#include "cocomix/util/error.h"
#include "model_config.h"

namespace cocomix {
namespace {

struct StepResult {
  torch::Tensor loss;
  torch::OrderedDict<std::string, torch::Tensor> gradients;
  torch::Tensor next_draw;  // the generator's next numbers after the step
  int64_t checkpointed_nodes = 0;
};

// Nodes of the backward graph whose name names the checkpoint Function.
int64_t count_checkpoint_nodes(const torch::Tensor& loss) {
  std::set<torch::autograd::Node*> seen;
  int64_t count = 0;
  std::function<void(torch::autograd::Node*)> visit = [&](torch::autograd::Node* node) {
    if (node == nullptr || !seen.insert(node).second) return;
    if (node->name().find("CheckpointedBlock") != std::string::npos) ++count;
    for (const auto& edge : node->next_edges()) visit(edge.function.get());
  };
  visit(loss.grad_fn().get());
  return count;
}

StepResult train_step(int64_t checkpoint_every, bool bf16) {
  auto config = testing::model_config(64, 32, 32, 3, 2);
  config.dropout = 0.1;
  torch::manual_seed(5);
  GPT model(config);
  model->train();
  model->set_activation_checkpointing(checkpoint_every);
  const auto tokens = torch::randint(64, {4, 17}, torch::kInt64);  // [B, T+1]
  StepResult result;
  {
    AutocastScope autocast(c10::DeviceType::CPU, bf16);
    const auto logits = model->forward(tokens.slice(1, 0, -1));  // [B, T, V]
    result.loss =
        torch::nn::functional::cross_entropy(logits.flatten(0, 1).to(torch::kFloat32), tokens.slice(1, 1).flatten());
  }
  result.checkpointed_nodes = count_checkpoint_nodes(result.loss);
  result.loss.backward();
  for (const auto& item : model->named_parameters()) result.gradients.insert(item.key(), item.value().grad());
  result.next_draw = torch::rand({8});
  return result;
}

void expect_bitwise_equal(const StepResult& plain, const StepResult& checkpointed) {
  EXPECT_TRUE(torch::equal(plain.loss, checkpointed.loss))
      << plain.loss.item<double>() << " vs " << checkpointed.loss.item<double>();
  for (const auto& item : plain.gradients) {
    ASSERT_TRUE(item.value().defined()) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), checkpointed.gradients[item.key()])) << item.key();
  }
  EXPECT_TRUE(torch::equal(plain.next_draw, checkpointed.next_draw));
}

TEST(BlockCheckpoint, LossGradientsAndRandomStreamAreBitwiseThePlainStep) {
  for (const bool bf16 : {false, true}) {
    SCOPED_TRACE(bf16 ? "bf16 autocast" : "fp32");
    const auto plain = train_step(0, bf16);
    EXPECT_EQ(plain.checkpointed_nodes, 0);
    const auto every_block = train_step(1, bf16);
    EXPECT_EQ(every_block.checkpointed_nodes, 3);
    expect_bitwise_equal(plain, every_block);
    const auto every_other = train_step(2, bf16);
    EXPECT_EQ(every_other.checkpointed_nodes, 2);  // blocks 0 and 2
    expect_bitwise_equal(plain, every_other);
  }
}

TEST(BlockCheckpoint, NoGraphNoCheckpoint) {
  auto config = testing::model_config(64, 32, 32, 2, 2);
  GPT model(config);
  model->set_activation_checkpointing(1);
  torch::NoGradGuard no_grad;
  const auto logits = model->forward(torch::randint(64, {2, 8}, torch::kInt64));
  EXPECT_FALSE(logits.requires_grad());
  EXPECT_THROW(model->set_activation_checkpointing(-1), UsageError);
}

}  // namespace
}  // namespace cocomix
