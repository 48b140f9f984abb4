// One data-parallel job's process group on PyTorch's c10d: the TCPStore
// rendezvous (rank 0 serves it, or torchrun's agent does), ProcessGroupGloo on
// CPU or ProcessGroupNCCL on CUDA, a heartbeat through the store so a failure
// names the rank that died or hung, and the few collectives training needs.
// Every collective failure becomes one RuntimeError line naming this rank,
// the operation and the peers that stopped; the backend is then abandoned
// (not joined), so the process exits instead of hanging in a destructor.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cocomix/config/config.h"
#include "cocomix/dist/launch_env.h"

namespace cocomix {

class ProcessGroup {
 public:
  /// An in-flight asynchronous collective.
  class Work {
   public:
    struct Impl;
    explicit Work(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
  };

  /// Joins the job described by `env` (world_size > 1): connects to the store
  /// (waiting up to dist.timeout_seconds for every rank), checks that all ranks
  /// run the same config (`config_digest`, e.g. its SHA-256) and creates the
  /// backend of dist.backend for `device` (gloo: CPU; nccl: CUDA, which must be
  /// present). `source` names the config in errors.
  static std::shared_ptr<ProcessGroup> create(const LaunchEnv& env, const DistConfig& config,
                                              const std::string& config_digest, const torch::Device& device,
                                              const std::string& source);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;
  /// "gloo" or "nccl".
  std::string backend() const;
  /// Tensors for collectives live here (CPU for gloo, the rank's GPU for nccl).
  torch::Device device() const;

  /// Starts a sum all-reduce of `tensor` (in place); `what` names it in errors.
  Work allreduce_sum_async(torch::Tensor& tensor, const std::string& what);
  /// Waits for `work`; throws RuntimeError naming the rank(s) that stopped.
  void wait(Work& work);
  /// Sum all-reduce, waited for.
  void allreduce_sum(torch::Tensor& tensor, const std::string& what);
  /// Rank `root`'s `tensor` to every rank (in place), waited for.
  void broadcast(torch::Tensor& tensor, int root, const std::string& what);
  /// Rank 0 receives every rank's `value` (index = rank); the others get {}.
  /// Through the store: for small things like per-rank sampler and RNG state.
  std::vector<std::string> gather_to_rank0(const std::string& value, const std::string& what);
  /// Seconds spent inside wait() (communication not hidden behind compute) since the start.
  double seconds_waiting() const;

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  [[noreturn]] void fail(const std::string& what, const std::string& cause);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cocomix
