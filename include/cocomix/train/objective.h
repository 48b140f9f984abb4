// The training objective: one forward pass and its loss on a micro-batch. The
// trainer only sees this interface, so CoCoMix (NTP + λ·concept loss), KD and the
// pause baselines plug in as other Objectives without touching the loop.
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "cocomix/data/batch.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

/// What an objective returns for one micro-batch.
struct ObjectiveOutput {
  torch::Tensor loss;                                        ///< scalar to backpropagate (mean over tokens)
  std::vector<std::pair<std::string, torch::Tensor>> parts;  ///< named scalar components to log (detached)
};

class Objective {
 public:
  virtual ~Objective() = default;
  /// Forward + loss on one micro-batch (inputs/targets [B, T]).
  virtual ObjectiveOutput compute(const Batch& batch) = 0;
  /// Every trainable module of the objective (the model first); checkpoints and the optimizer use these.
  virtual std::vector<std::pair<std::string, torch::Tensor>> named_parameters() = 0;
  /// Switches dropout on or off in every module.
  virtual void train(bool on) = 0;
  /// Moves every module to `device`.
  virtual void to(const torch::Device& device) = 0;
  /// The weights a checkpoint stores (Hugging Face names for the GPT part).
  virtual TensorMap state_dict() = 0;
  /// Loads what state_dict() produced; `source` names the file in errors.
  virtual void load_state_dict(const TensorMap& tensors, const std::string& source) = 0;
  /// The final hidden states after ln_f [B, T, d] for inputs [B, T]: position t
  /// predicts token t+1 through the LM head (what the eval scorers take).
  virtual torch::Tensor final_hidden(const torch::Tensor& inputs) = 0;
  /// The LM head's weight [V, d] (tied to the token embedding wte).
  virtual torch::Tensor unembedding() = 0;
  /// Logits [B, T, V] for inputs [B, T]: linear(final_hidden(inputs), unembedding()).
  torch::Tensor logits(const torch::Tensor& inputs);
};

/// Mean next-token cross-entropy over all B·S positions of the final hidden
/// states h [B, S, d] (before ln_f): ln_f, the tied LM head and the loss in one
/// linear_cross_entropy, so the [B, S, V] logits are never held whole. The
/// softmax and the loss are fp32 even under bf16 autocast. targets [B, S] int64.
torch::Tensor next_token_loss(GPTImpl& model, const torch::Tensor& h, const torch::Tensor& targets);

/// Plain next-token prediction on a GPT.
class NextTokenObjective : public Objective {
 public:
  explicit NextTokenObjective(GPT model) : model_(std::move(model)) {}
  ObjectiveOutput compute(const Batch& batch) override;
  std::vector<std::pair<std::string, torch::Tensor>> named_parameters() override;
  void train(bool on) override { model_->train(on); }
  void to(const torch::Device& device) override { model_->to(device); }
  TensorMap state_dict() override;
  void load_state_dict(const TensorMap& tensors, const std::string& source) override;
  torch::Tensor final_hidden(const torch::Tensor& inputs) override;
  torch::Tensor unembedding() override { return model_->transformer->wte->weight; }
  GPT& model() { return model_; }

 private:
  GPT model_;
};

}  // namespace cocomix
