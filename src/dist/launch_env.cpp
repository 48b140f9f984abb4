// read_launch_env: the launcher variables of torchrun and srun, checked.
#include "cocomix/dist/launch_env.h"

#include <cstdlib>
#include <limits>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

[[noreturn]] void fail(const std::string& what) { throw UsageError("launcher environment: " + what); }

int parse_int(const std::string& name, const std::string& text) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < 0 || value > std::numeric_limits<int>::max())
    fail(name + "=\"" + text + "\" is not a non-negative integer");
  return static_cast<int>(value);
}

std::optional<int> int_var(const Getenv& getenv, const std::string& name) {
  const auto text = getenv(name);
  if (!text) return std::nullopt;
  return parse_int(name, *text);
}

void check_rank(const LaunchEnv& env, const char* rank_name, const char* world_name) {
  if (env.world_size < 1) fail(std::string(world_name) + "=0: a job needs at least one process");
  if (env.rank >= env.world_size)
    fail(std::string(rank_name) + "=" + std::to_string(env.rank) + " is not below " + world_name + "=" +
         std::to_string(env.world_size) + " (ranks are 0 .. " + world_name + "-1)");
  if (env.local_rank >= env.local_world_size)
    fail("the local rank " + std::to_string(env.local_rank) + " is not below the local world size " +
         std::to_string(env.local_world_size));
}

void read_port(LaunchEnv& env, const Getenv& getenv, int fallback) {
  const auto port = int_var(getenv, "MASTER_PORT");
  env.master_port = port ? *port : fallback;
  if (env.master_port < 1 || env.master_port > 65535)
    fail("MASTER_PORT=" + std::to_string(env.master_port) + " is not a TCP port in [1, 65535]");
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  const auto bracket = nodelist.find('[');
  const auto comma = nodelist.find(',');
  if (nodelist.empty() || nodelist[0] == ',' || nodelist[0] == '[')
    fail("SLURM_JOB_NODELIST=\"" + nodelist + "\" names no host; set MASTER_ADDR to rank 0's host");
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
    return nodelist.substr(0, comma);
  // prefix[first-last,...]: the prefix and the first range's first number (zero padding kept).
  const auto close = nodelist.find(']', bracket);
  const auto end = nodelist.find_first_of("-,]", bracket + 1);
  if (close == std::string::npos || end == bracket + 1)
    fail("SLURM_JOB_NODELIST=\"" + nodelist + "\" is malformed; set MASTER_ADDR to rank 0's host");
  return nodelist.substr(0, bracket) + nodelist.substr(bracket + 1, end - bracket - 1);
}

LaunchEnv read_launch_env(const Getenv& getenv) {
  LaunchEnv env;
  const auto rank = int_var(getenv, "RANK");
  const auto world = int_var(getenv, "WORLD_SIZE");
  if (rank || world) {
    if (!rank || !world)
      fail(std::string(rank ? "RANK" : "WORLD_SIZE") + " is set but " + (rank ? "WORLD_SIZE" : "RANK") +
           " is not; launch with torchrun or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT together");
    env.launcher = "torchrun";
    env.rank = *rank;
    env.world_size = *world;
    env.local_rank = int_var(getenv, "LOCAL_RANK").value_or(env.rank);
    env.local_world_size = int_var(getenv, "LOCAL_WORLD_SIZE").value_or(env.world_size);
    check_rank(env, "RANK", "WORLD_SIZE");
    if (env.world_size == 1) return env;
    const auto addr = getenv("MASTER_ADDR");
    if (!addr || addr->empty())
      fail("MASTER_ADDR is not set (WORLD_SIZE=" + std::to_string(env.world_size) +
           "); torchrun sets it, or export MASTER_ADDR=<rank 0's host> and MASTER_PORT");
    env.master_addr = *addr;
    if (!getenv("MASTER_PORT")) fail("MASTER_PORT is not set; torchrun sets it, or export MASTER_PORT=<free port>");
    read_port(env, getenv, 0);
    const auto agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
    env.use_agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
    return env;
  }
  const auto procid = int_var(getenv, "SLURM_PROCID");
  const auto ntasks = int_var(getenv, "SLURM_NTASKS");
  if (!procid || !ntasks) return env;  // no launcher: a single process
  env.launcher = "slurm";
  env.rank = *procid;
  env.world_size = *ntasks;
  env.local_rank = int_var(getenv, "SLURM_LOCALID").value_or(0);
  env.local_world_size = int_var(getenv, "SLURM_NTASKS_PER_NODE").value_or(env.local_rank + 1);
  check_rank(env, "SLURM_PROCID", "SLURM_NTASKS");
  if (env.world_size == 1) return env;
  if (const auto addr = getenv("MASTER_ADDR"); addr && !addr->empty()) {
    env.master_addr = *addr;
  } else {
    auto nodes = getenv("SLURM_JOB_NODELIST");
    if (!nodes) nodes = getenv("SLURM_NODELIST");
    if (!nodes) fail("SLURM_JOB_NODELIST and MASTER_ADDR are unset; set MASTER_ADDR to rank 0's host");
    env.master_addr = first_slurm_host(*nodes);
  }
  read_port(env, getenv, kDefaultMasterPort);
  return env;
}

LaunchEnv read_launch_env() {
  return read_launch_env([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

}  // namespace cocomix
