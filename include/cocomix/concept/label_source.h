// Where a training batch's concept labels come from: the teacher and its SAE
// run on the batch (online), or the labels a label cache holds for its windows.
// The objective asks one interface; neither the trainer nor the batch knows which.
#pragma once

#include <torch/types.h>

#include <memory>

#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/label_cache.h"
#include "cocomix/data/batch.h"

namespace cocomix {

class LabelSource {
 public:
  virtual ~LabelSource() = default;
  /// Labels [B, T, K_attr] int64 of the batch, on the device of batch.inputs.
  virtual torch::Tensor labels(const Batch& batch) = 0;
  /// Moves what runs on a device (the teacher and SAE) there.
  virtual void to(const torch::Device& device) = 0;
  /// The labeler when labels are computed online; null for a cache.
  virtual ConceptLabeler* labeler() = 0;
};

/// Labels from the teacher and SAE on every batch.
class OnlineLabels : public LabelSource {
 public:
  explicit OnlineLabels(std::unique_ptr<ConceptLabeler> labeler) : labeler_(std::move(labeler)) {}
  torch::Tensor labels(const Batch& batch) override;
  void to(const torch::Device& device) override { labeler_->to(device); }
  ConceptLabeler* labeler() override { return labeler_.get(); }

 private:
  std::unique_ptr<ConceptLabeler> labeler_;
};

/// Labels read from a label cache by each window's start.
class CachedLabels : public LabelSource {
 public:
  explicit CachedLabels(LabelCache cache) : cache_(std::move(cache)) {}
  torch::Tensor labels(const Batch& batch) override;
  void to(const torch::Device&) override {}
  ConceptLabeler* labeler() override { return nullptr; }

 private:
  LabelCache cache_;
};

}  // namespace cocomix
