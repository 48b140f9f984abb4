// The one point where data-parallel replicas meet: gradients are reduced here
// once per optimizer step, and so are the numbers every rank must agree on
// (loss for logging, the non-finite verdict). A single process needs nothing.
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace cocomix {

class ReplicaSync {
 public:
  virtual ~ReplicaSync() = default;
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  /// Called before each micro-step's backward; `final_micro_step` says whether
  /// its gradients complete the step (only then may reduction start during backward).
  virtual void prepare_backward(bool final_micro_step) {}
  /// Called after the last micro-step's backward: average gradients across replicas.
  virtual void reduce_gradients(const std::vector<torch::Tensor>& parameters) {}
  /// Mean of a scalar across replicas.
  virtual double mean(double value) { return value; }
  /// True if any replica says true (all skip a non-finite step together).
  virtual bool any(bool value) { return value; }
  /// The first replica receives every replica's `value` (index = rank); the others get {}.
  virtual std::vector<std::string> gather_to_first(const std::string& value) { return {value}; }
};

}  // namespace cocomix
