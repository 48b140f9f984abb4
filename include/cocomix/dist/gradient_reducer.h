// What PyTorch's DistributedDataParallel does, for LibTorch: rank 0's initial
// parameters broadcast to every rank; gradients grouped into buckets (about
// dist.bucket_mb, reverse parameter order, a small first bucket) whose sum
// all-reduce starts asynchronously from an autograd post-accumulate-grad hook
// as soon as the bucket's last gradient is ready on the final micro-step, so
// communication overlaps the rest of the backward pass; the sum divided by the
// world size (Gloo has no AVG) is written back before clipping. Frozen modules
// (teacher, SAE) have no trainable parameters here and are never in a bucket.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/dist/process_group.h"
#include "cocomix/dist/replica_sync.h"

namespace cocomix {

/// DDP's bucket assignment: parameters (sizes in bytes, in parameter order) are
/// taken in reverse order and appended to the open bucket, which closes once it
/// holds >= its cap (first_cap_bytes for the first bucket, cap_bytes after), so
/// a parameter larger than the cap gets a bucket of its own. Returns each
/// bucket's parameter indices, in the order the buckets are reduced.
std::vector<std::vector<size_t>> assign_gradient_buckets(const std::vector<int64_t>& bytes, int64_t first_cap_bytes,
                                                         int64_t cap_bytes);

class GradientReducer : public ReplicaSync {
 public:
  /// Broadcasts rank 0's `parameters` to every rank (so all replicas start
  /// equal) and installs a post-accumulate-grad hook on each. The parameters
  /// must share one dtype and device.
  GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> parameters,
                  const DistConfig& config);
  ~GradientReducer() override;  // removes the hooks
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  int rank() const override;
  int world_size() const override;
  void prepare_backward(bool final_micro_step) override;
  /// Waits for every bucket (launching those whose gradients never arrived,
  /// with zeros for unused parameters), divides by the world size and writes
  /// the averages into the gradients. `parameters` must be the constructor's.
  void reduce_gradients(const std::vector<torch::Tensor>& parameters) override;
  double mean(double value) override;
  bool any(bool value) override;
  std::vector<std::string> gather_to_first(const std::string& value) override;

  size_t bucket_count() const;

 private:
  struct Bucket;
  void gradient_ready(size_t parameter);
  void launch_ready_buckets(bool force);

  std::shared_ptr<ProcessGroup> group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<size_t> bucket_of_;  // parameter index -> bucket index
  std::vector<int64_t> offset_of_;  // parameter index -> offset in its bucket's flat buffer
  bool armed_ = false;             // the current backward is the final micro-step's
  size_t next_launch_ = 0;         // buckets are launched in order on every rank
  int64_t steps_ = 0;              // reductions done
  double reduce_seconds_ = 0;      // wall time inside reduce_gradients: communication not hidden by backward
};

}  // namespace cocomix
