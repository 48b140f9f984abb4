// ProcessGroup on c10d: TCPStore rendezvous, Gloo or NCCL backend, heartbeat
// and failure diagnosis. The only translation unit that includes c10d headers
// (cmake/CocomixDist.cmake gives it USE_C10D_GLOO / USE_C10D_NCCL and the Gloo
// and NCCL include directories).
#include "cocomix/dist/process_group.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "cocomix/util/error.h"
#include "cocomix/util/log.h"

namespace cocomix {
namespace {

using Milliseconds = std::chrono::milliseconds;
constexpr Milliseconds kHeartbeatInterval{1000};
constexpr int kHeartbeatsForDead = 3;  // silent this many intervals: the rank is gone

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string message_of(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return first_line(c10_error->what_without_backtrace());
  return first_line(e.what());
}

std::string to_string(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

std::string rank_list(const std::vector<int>& ranks) {
  std::string out;
  for (const int r : ranks) out += (out.empty() ? "" : ", ") + std::to_string(r);
  return (ranks.size() == 1 ? "rank " : "ranks ") + out;
}

/// The job's key prefix: torchrun's agent store outlives worker restarts.
std::string store_prefix() {
  const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
  return std::string("cocomix/") + (restart != nullptr ? restart : "0");
}

c10::intrusive_ptr<c10d::Store> connect_store(const LaunchEnv& env, bool server, Milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = server;
  options.numWorkers = server ? std::optional<size_t>(env.world_size) : std::nullopt;
  options.waitWorkers = false;  // the join below waits, with a message that names who is missing
  options.timeout = timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  return c10::make_intrusive<c10d::PrefixStore>(store_prefix(), store);
}

}  // namespace

struct ProcessGroup::Work::Impl {
  c10::intrusive_ptr<c10d::Work> work;
  std::string what;
};

struct ProcessGroup::Impl {
  LaunchEnv env;
  DistConfig config;
  std::string backend_name;
  torch::Device device = torch::kCPU;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  bool aborted = false;
  int64_t gather_sequence = 0;
  double seconds_waiting = 0;
  std::atomic<int64_t> collectives_done{0};

  // Heartbeat: a thread with its own store connection publishes
  // alive/<rank> = "<beats> <collectives done>" every second.
  std::thread heartbeat;
  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_wakeup;
  bool heartbeat_stop = false;

  std::string where() const { return env.master_addr + ":" + std::to_string(env.master_port); }
  std::string me() const { return "rank " + std::to_string(env.rank); }

  void start_heartbeat() {
    auto beat_store = connect_store(env, /*server=*/false, Milliseconds(5000));
    heartbeat = std::thread([this, beat_store] {
      int64_t beats = 0;
      std::unique_lock<std::mutex> lock(heartbeat_mutex);
      while (!heartbeat_stop) {
        try {
          beat_store->set("alive/" + std::to_string(env.rank),
                          std::to_string(++beats) + " " + std::to_string(collectives_done.load()));
        } catch (const std::exception&) {
          // The store is gone (rank 0 died): the diagnosis says so.
        }
        heartbeat_wakeup.wait_for(lock, kHeartbeatInterval, [this] { return heartbeat_stop; });
      }
    });
  }
  void stop_heartbeat() {
    {
      std::lock_guard<std::mutex> lock(heartbeat_mutex);
      heartbeat_stop = true;
    }
    heartbeat_wakeup.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }

  /// Which peers stopped: silent heartbeats (dead or frozen) or, when all beat,
  /// those behind in collectives (hung in compute). Reads through a fresh connection.
  std::string diagnose() {
    try {
      auto probe = connect_store(env, /*server=*/false, Milliseconds(2000));
      auto read = [&] {
        std::vector<std::pair<int64_t, int64_t>> state(env.world_size, {-1, -1});
        for (int r = 0; r < env.world_size; ++r) {
          const std::string key = "alive/" + std::to_string(r);
          if (!probe->check({key})) continue;
          const auto text = to_string(probe->get(key));
          const auto space = text.find(' ');
          state[r] = {std::stoll(text.substr(0, space)), std::stoll(text.substr(space + 1))};
        }
        return state;
      };
      const auto before = read();
      std::this_thread::sleep_for(kHeartbeatInterval * kHeartbeatsForDead);
      const auto after = read();
      std::vector<int> silent, behind;
      for (int r = 0; r < env.world_size; ++r) {
        if (r == env.rank) continue;
        if (after[r].first == before[r].first) silent.push_back(r);
        else if (after[r].second < collectives_done.load()) behind.push_back(r);
      }
      if (!silent.empty())
        return rank_list(silent) + " stopped (no heartbeat for " +
               std::to_string(kHeartbeatsForDead * kHeartbeatInterval.count() / 1000) + " s: died or frozen)";
      if (!behind.empty()) return rank_list(behind) + " is behind in collectives (hung or much slower)";
      return "every rank still beats; a network failure?";
    } catch (const std::exception&) {
      return "rank 0 stopped (its store at " + where() + " is gone)";
    }
  }
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProcessGroup::~ProcessGroup() {
  auto& s = *impl_;
  s.stop_heartbeat();
  if (s.aborted) {
    // A failed backend may have workers blocked on a dead peer: abandon it
    // (no join, no destructor) so the process can exit with its error.
    (void)s.backend.release();
    return;
  }
  try {
    s.backend->shutdown();
  } catch (const std::exception& e) {
    log_warn(s.me() + ": process group shutdown: " + message_of(e));
  }
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const LaunchEnv& env, const DistConfig& config,
                                                   const std::string& config_digest, const torch::Device& device,
                                                   const std::string& source) {
  auto impl = std::make_unique<Impl>();
  auto& s = *impl;
  s.env = env;
  s.config = config;
  s.device = device;
  s.backend_name = config.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : config.backend;
  const Milliseconds timeout(config.timeout_seconds * 1000);
  const std::string me = s.me();
  const std::string seconds = std::to_string(config.timeout_seconds) + " s (dist.timeout_seconds)";

  if (s.backend_name == "nccl") {
#ifndef USE_C10D_NCCL
    throw UsageError(source + ": dist.backend: \"nccl\" needs a LibTorch built with CUDA; this one has none");
#else
    if (!torch::cuda::is_available())
      throw UsageError(source + ": dist.backend: \"nccl\" requested but no CUDA device is present");
#endif
  }

  // Rendezvous: rank 0 serves the store unless torchrun's agent already does.
  try {
    s.store = connect_store(env, env.rank == 0 && !env.use_agent_store, timeout);
  } catch (const std::exception& e) {
    throw RuntimeError(me + ": cannot " + (env.rank == 0 && !env.use_agent_store ? "serve" : "reach") +
                       " the rendezvous store at " + s.where() + " within " + seconds +
                       " (MASTER_ADDR/MASTER_PORT): " + message_of(e));
  }
  // Join: every rank publishes its config digest; rank 0 compares them all.
  try {
    s.store->set("config/" + std::to_string(env.rank), config_digest);
    if (env.rank == 0) {
      std::vector<int> differ;
      for (int r = 1; r < env.world_size; ++r)
        if (to_string(s.store->get("config/" + std::to_string(r))) != config_digest) differ.push_back(r);
      s.store->set("config_verdict", differ.empty() ? std::string("same") : rank_list(differ));
      if (!differ.empty()) {
        // Rank 0 serves the store: keep it up until every rank has read the verdict.
        std::vector<std::string> read;
        for (int r = 1; r < env.world_size; ++r) read.push_back("verdict_read/" + std::to_string(r));
        s.store->wait(read);
        throw UsageError(me + ": " + rank_list(differ) + " started with a different config than rank 0 (" +
                         source + " and --set overrides must be the same on every rank)");
      }
    } else {
      // Read everything before saying so: once every rank has, rank 0 may exit and take the store with it.
      const auto verdict = to_string(s.store->get("config_verdict"));
      const bool same_as_rank_0 = to_string(s.store->get("config/0")) == config_digest;
      s.store->set("verdict_read/" + std::to_string(env.rank), "1");
      if (!same_as_rank_0)
        throw UsageError(me + ": started with a different config than rank 0 (" + source +
                         " and --set overrides must be the same on every rank)");
      if (verdict != "same")
        throw UsageError(me + ": " + verdict + " started with a different config than rank 0; all ranks stop");
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    std::vector<int> missing;
    try {
      for (int r = 0; r < env.world_size; ++r)
        if (!s.store->check({"config/" + std::to_string(r)})) missing.push_back(r);
    } catch (const std::exception&) {
    }
    throw RuntimeError(me + ": " + (missing.empty() ? std::string("the rendezvous failed") : rank_list(missing) +
                                                                                                 " did not join") +
                       " within " + seconds + " at " + s.where() + ": " + message_of(e));
  }

  try {
    if (s.backend_name == "gloo") {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      options->devices.push_back(interface != nullptr
                                     ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
      options->threads = 2;
      s.backend = c10::make_intrusive<c10d::ProcessGroupGloo>(s.store, env.rank, env.world_size, options);
    } else {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.index()));
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      s.backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(s.store, env.rank, env.world_size, options);
#endif
    }
  } catch (const std::exception& e) {
    throw RuntimeError(me + ": creating the " + s.backend_name + " process group failed: " + message_of(e));
  }
  s.start_heartbeat();
  log_info("process group: " + s.backend_name + ", " + std::to_string(env.world_size) + " ranks (" + env.launcher +
           "), store " + s.where() + ", timeout " + seconds);
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int ProcessGroup::rank() const { return impl_->env.rank; }
int ProcessGroup::world_size() const { return impl_->env.world_size; }
std::string ProcessGroup::backend() const { return impl_->backend_name; }
torch::Device ProcessGroup::device() const { return impl_->device; }
double ProcessGroup::seconds_waiting() const { return impl_->seconds_waiting; }

void ProcessGroup::fail(const std::string& what, const std::string& cause) {
  auto& s = *impl_;
  s.aborted = true;
  const std::string diagnosis = s.diagnose();
  throw RuntimeError(s.me() + ": " + what + " failed: " + diagnosis + " (" + s.backend_name + ": " + cause +
                     "); the job cannot continue, resume from the last checkpoint");
}

ProcessGroup::Work ProcessGroup::allreduce_sum_async(torch::Tensor& tensor, const std::string& what) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = c10d::ReduceOp::SUM;
  try {
    return Work(std::make_shared<Work::Impl>(Work::Impl{impl_->backend->allreduce(tensors, options), what}));
  } catch (const std::exception& e) {
    fail(what, message_of(e));
  }
}

void ProcessGroup::wait(Work& work) {
  const auto start = std::chrono::steady_clock::now();
  try {
    work.impl_->work->wait();
  } catch (const std::exception& e) {
    fail(work.impl_->what, message_of(e));
  }
  impl_->seconds_waiting += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++impl_->collectives_done;
}

void ProcessGroup::allreduce_sum(torch::Tensor& tensor, const std::string& what) {
  auto work = allreduce_sum_async(tensor, what);
  wait(work);
}

void ProcessGroup::broadcast(torch::Tensor& tensor, int root, const std::string& what) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  Work work(nullptr);
  try {
    work = Work(std::make_shared<Work::Impl>(Work::Impl{impl_->backend->broadcast(tensors, options), what}));
  } catch (const std::exception& e) {
    fail(what, message_of(e));
  }
  wait(work);
}

std::vector<std::string> ProcessGroup::gather_to_rank0(const std::string& value, const std::string& what) {
  auto& s = *impl_;
  const std::string prefix = "gather/" + std::to_string(s.gather_sequence++) + "/";
  std::vector<std::string> values;
  try {
    if (s.env.rank != 0) {
      s.store->set(prefix + std::to_string(s.env.rank), value);
      return values;
    }
    values.push_back(value);
    for (int r = 1; r < s.env.world_size; ++r) {
      const std::string key = prefix + std::to_string(r);
      values.push_back(to_string(s.store->get(key)));
      s.store->deleteKey(key);
    }
  } catch (const std::exception& e) {
    fail(what, message_of(e));
  }
  return values;
}

}  // namespace cocomix
