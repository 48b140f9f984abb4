// GradientReducer: DDP-style bucketed, overlapped gradient all-reduce.
#include "cocomix/dist/gradient_reducer.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>
#include <optional>

#include "cocomix/util/error.h"
#include "cocomix/util/log.h"

namespace cocomix {

std::vector<std::vector<size_t>> assign_gradient_buckets(const std::vector<int64_t>& bytes, int64_t first_cap_bytes,
                                                         int64_t cap_bytes) {
  std::vector<std::vector<size_t>> buckets;
  std::vector<size_t> open;
  int64_t open_bytes = 0;
  for (size_t k = bytes.size(); k-- > 0;) {
    open.push_back(k);
    open_bytes += bytes[k];
    if (open_bytes >= (buckets.empty() ? first_cap_bytes : cap_bytes)) {
      buckets.push_back(std::move(open));
      open.clear();
      open_bytes = 0;
    }
  }
  if (!open.empty()) buckets.push_back(std::move(open));
  return buckets;
}

struct GradientReducer::Bucket {
  std::vector<size_t> parameters;
  torch::Tensor flat;  // [sum of numel] the bucket's gradients, contiguous
  size_t pending = 0;  // gradients of the final micro-step not yet ready
  std::optional<ProcessGroup::Work> work;
};

namespace {

/// Autograd calls this after a parameter's gradient was accumulated.
class ReadyHook : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(std::function<void()> ready) : ready_(std::move(ready)) {}
  void operator()(const torch::autograd::Variable&) override { ready_(); }

 private:
  std::function<void()> ready_;
};

int64_t mebibytes(double mb) { return static_cast<int64_t>(mb * 1024 * 1024); }

}  // namespace

GradientReducer::GradientReducer(std::shared_ptr<ProcessGroup> group, std::vector<torch::Tensor> parameters,
                                 const DistConfig& config)
    : group_(std::move(group)), parameters_(std::move(parameters)) {
  if (parameters_.empty()) throw RuntimeError("data parallel: the objective has no trainable parameters");
  std::vector<int64_t> bytes;
  for (const auto& p : parameters_) {
    if (p.scalar_type() != parameters_[0].scalar_type() || p.device() != parameters_[0].device())
      throw RuntimeError("data parallel: parameters of different dtypes or devices cannot share gradient buckets");
    bytes.push_back(p.numel() * static_cast<int64_t>(p.element_size()));
  }
  const auto assignment = assign_gradient_buckets(bytes, mebibytes(config.first_bucket_mb), mebibytes(config.bucket_mb));
  bucket_of_.resize(parameters_.size());
  offset_of_.resize(parameters_.size());
  for (size_t b = 0; b < assignment.size(); ++b) {
    auto bucket = std::make_unique<Bucket>();
    bucket->parameters = assignment[b];
    int64_t numel = 0;
    for (const size_t k : bucket->parameters) {
      bucket_of_[k] = b;
      offset_of_[k] = numel;
      numel += parameters_[k].numel();
    }
    bucket->flat = torch::empty({numel}, parameters_[0].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }

  // Rank 0's initial parameters, bucket by bucket (the buckets' buffers as staging).
  {
    torch::NoGradGuard no_grad;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      auto& bucket = *buckets_[b];
      for (const size_t k : bucket.parameters)
        bucket.flat.narrow(0, offset_of_[k], parameters_[k].numel()).copy_(parameters_[k].detach().reshape({-1}));
      group_->broadcast(bucket.flat, 0, "broadcast of rank 0's initial parameters (bucket " + std::to_string(b) + ")");
      for (const size_t k : bucket.parameters)
        parameters_[k].detach().copy_(bucket.flat.narrow(0, offset_of_[k], parameters_[k].numel()).view_as(parameters_[k]));
    }
  }
  for (size_t k = 0; k < parameters_.size(); ++k)
    torch::autograd::impl::set_post_acc_grad_hooks(parameters_[k],
                                                   std::make_unique<ReadyHook>([this, k] { gradient_ready(k); }));
  log_info("data parallel: " + std::to_string(parameters_.size()) + " parameters in " +
           std::to_string(buckets_.size()) + " gradient buckets");
}

GradientReducer::~GradientReducer() {
  for (const auto& p : parameters_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
  if (steps_ > 0)  // bench/dist_step.py reads this line
    log_info("data parallel: " + std::to_string(steps_) + " steps, " + std::to_string(reduce_seconds_) +
             " s waiting in the gradient reduction after backward, " + std::to_string(group_->seconds_waiting()) +
             " s waiting in all collectives");
}

int GradientReducer::rank() const { return group_->rank(); }
int GradientReducer::world_size() const { return group_->world_size(); }
size_t GradientReducer::bucket_count() const { return buckets_.size(); }

void GradientReducer::prepare_backward(bool final_micro_step) {
  armed_ = final_micro_step;
  if (!armed_) return;
  next_launch_ = 0;
  for (auto& bucket : buckets_) {
    bucket->pending = bucket->parameters.size();
    bucket->work.reset();
  }
}

void GradientReducer::gradient_ready(size_t parameter) {
  if (!armed_) return;  // a non-final micro-step: gradients only accumulate locally
  auto& bucket = *buckets_[bucket_of_[parameter]];
  const auto& p = parameters_[parameter];
  bucket.flat.narrow(0, offset_of_[parameter], p.numel()).copy_(p.grad().reshape({-1}));
  if (bucket.pending > 0 && --bucket.pending == 0) launch_ready_buckets(false);
}

void GradientReducer::launch_ready_buckets(bool force) {
  // In bucket order on every rank: collectives must be issued in the same order.
  while (next_launch_ < buckets_.size() && (force || buckets_[next_launch_]->pending == 0)) {
    auto& bucket = *buckets_[next_launch_];
    if (bucket.pending > 0) {  // some hooks did not fire: take the gradients as they are, zeros where none
      for (const size_t k : bucket.parameters) {
        auto slot = bucket.flat.narrow(0, offset_of_[k], parameters_[k].numel());
        if (parameters_[k].grad().defined()) slot.copy_(parameters_[k].grad().reshape({-1}));
        else slot.zero_();
      }
      bucket.pending = 0;
    }
    bucket.work = group_->allreduce_sum_async(
        bucket.flat, "gradient all-reduce (bucket " + std::to_string(next_launch_) + " of " +
                         std::to_string(buckets_.size()) + ")");
    ++next_launch_;
  }
}

void GradientReducer::reduce_gradients(const std::vector<torch::Tensor>& parameters) {
  if (parameters.size() != parameters_.size())
    throw RuntimeError("data parallel: reduce_gradients got other parameters than the reducer was built with");
  if (!armed_) prepare_backward(true);  // no backward ran: reduce whatever gradients there are (zeros)
  const auto start = std::chrono::steady_clock::now();
  launch_ready_buckets(/*force=*/true);
  const double scale = 1.0 / static_cast<double>(world_size());
  torch::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    group_->wait(*bucket->work);
    bucket->work.reset();
    bucket->flat.mul_(scale);
    for (const size_t k : bucket->parameters) {
      auto& p = parameters_[k];
      auto average = bucket->flat.narrow(0, offset_of_[k], p.numel()).view_as(p);
      if (p.grad().defined()) p.mutable_grad().copy_(average);
      else p.mutable_grad() = average.clone();
    }
  }
  armed_ = false;
  ++steps_;
  reduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double GradientReducer::mean(double value) {
  auto t = torch::full({1}, value, torch::TensorOptions().dtype(torch::kFloat64).device(group_->device()));
  group_->allreduce_sum(t, "metric all-reduce");
  return t.item<double>() / static_cast<double>(world_size());
}

bool GradientReducer::any(bool value) {
  auto t = torch::full({1}, value ? 1 : 0, torch::TensorOptions().dtype(torch::kInt64).device(group_->device()));
  group_->allreduce_sum(t, "non-finite / stop verdict all-reduce");
  return t.item<int64_t>() > 0;
}

std::vector<std::string> GradientReducer::gather_to_first(const std::string& value) {
  return group_->gather_to_rank0(value, "gathering every rank's sampler and RNG state for a checkpoint");
}

}  // namespace cocomix
