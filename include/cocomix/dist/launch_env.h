// Who this process is in a data-parallel job, read from the launcher's
// environment: torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE) or SLURM's srun
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the master from the node list).
// Neither: one process, no process group.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace cocomix {

struct LaunchEnv {
  std::string launcher = "none";  ///< "torchrun" (RANK/WORLD_SIZE set), "slurm" (srun) or "none"
  int rank = 0;                   ///< global rank in [0, world_size)
  int local_rank = 0;             ///< rank on this node: the CUDA device index
  int world_size = 1;             ///< processes in the job
  int local_world_size = 1;       ///< processes on this node
  std::string master_addr;        ///< host of rank 0's rendezvous store (world_size > 1)
  int master_port = 0;            ///< its port
  bool use_agent_store = false;   ///< torchrun's agent already serves the store on master_port: connect as a client
};

/// Default MASTER_PORT under srun when the job script sets none (torchrun's default).
inline constexpr int kDefaultMasterPort = 29500;

/// Reads the variables through `getenv` (nullopt = unset). Throws UsageError
/// with one line naming the variable for inconsistent values: RANK without
/// WORLD_SIZE, RANK >= WORLD_SIZE, non-integers, a multi-process job without
/// MASTER_ADDR (torchrun) or a node list (srun), a port outside [1, 65535].
LaunchEnv read_launch_env(const std::function<std::optional<std::string>(const std::string&)>& getenv);
/// The same from the process environment.
LaunchEnv read_launch_env();

/// The first host of a SLURM node list: "gpu[03-05,09],cpu1" -> "gpu03",
/// "node7,node8" -> "node7". Throws UsageError naming SLURM_JOB_NODELIST when empty or malformed.
std::string first_slurm_host(const std::string& nodelist);

}  // namespace cocomix
