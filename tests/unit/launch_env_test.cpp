// read_launch_env: torchrun's and srun's variables, SLURM node lists, and the
// one-line errors for inconsistent launches.
#include "cocomix/dist/launch_env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using Vars = std::map<std::string, std::string>;

LaunchEnv read(const Vars& vars) {
  return read_launch_env([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string error_of(const Vars& vars) {
  try {
    read(vars);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  const auto env = read({{"MASTER_ADDR", "h"}});
  EXPECT_EQ(env.launcher, "none");
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
}

TEST(LaunchEnv, Torchrun) {
  const auto env = read({{"RANK", "3"},
                         {"WORLD_SIZE", "16"},
                         {"LOCAL_RANK", "3"},
                         {"LOCAL_WORLD_SIZE", "8"},
                         {"MASTER_ADDR", "node0"},
                         {"MASTER_PORT", "29400"},
                         {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_EQ(env.launcher, "torchrun");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 16);
  EXPECT_EQ(env.local_rank, 3);
  EXPECT_EQ(env.local_world_size, 8);
  EXPECT_EQ(env.master_addr, "node0");
  EXPECT_EQ(env.master_port, 29400);
  EXPECT_TRUE(env.use_agent_store);
  // torchrun with one process needs no master.
  EXPECT_EQ(read({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).world_size, 1);
}

TEST(LaunchEnv, Slurm) {
  const auto env = read({{"SLURM_PROCID", "9"},
                         {"SLURM_NTASKS", "16"},
                         {"SLURM_LOCALID", "1"},
                         {"SLURM_NTASKS_PER_NODE", "8"},
                         {"SLURM_JOB_NODELIST", "gpu[007-008,010]"}});
  EXPECT_EQ(env.launcher, "slurm");
  EXPECT_EQ(env.rank, 9);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "gpu007");
  EXPECT_EQ(env.master_port, kDefaultMasterPort);
  // MASTER_ADDR / MASTER_PORT from the job script win over the node list.
  const auto given = read({{"SLURM_PROCID", "0"},
                           {"SLURM_NTASKS", "2"},
                           {"SLURM_NODELIST", "a,b"},
                           {"MASTER_ADDR", "10.0.0.1"},
                           {"MASTER_PORT", "1234"}});
  EXPECT_EQ(given.master_addr, "10.0.0.1");
  EXPECT_EQ(given.master_port, 1234);
}

TEST(LaunchEnv, FirstSlurmHost) {
  EXPECT_EQ(first_slurm_host("node7"), "node7");
  EXPECT_EQ(first_slurm_host("node7,node8"), "node7");
  EXPECT_EQ(first_slurm_host("gpu[03-05,09],cpu1"), "gpu03");
  EXPECT_EQ(first_slurm_host("gpu[12]"), "gpu12");
  EXPECT_EQ(first_slurm_host("a1,gpu[1-2]"), "a1");
  EXPECT_THROW(first_slurm_host(""), UsageError);
  EXPECT_THROW(first_slurm_host("gpu[03-05"), UsageError);
}

TEST(LaunchEnv, InconsistentVariablesAreOneLineErrors) {
  const Vars ok = {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"}};
  auto with = [&](const std::string& key, const std::string& value) {
    Vars v = ok;
    v[key] = value;
    return v;
  };
  auto without = [&](const std::string& key) {
    Vars v = ok;
    v.erase(key);
    return v;
  };
  EXPECT_NE(error_of(with("RANK", "2")).find("RANK=2 is not below WORLD_SIZE=2"), std::string::npos);
  EXPECT_NE(error_of(with("RANK", "-1")).find("RANK=\"-1\" is not a non-negative integer"), std::string::npos);
  EXPECT_NE(error_of(with("WORLD_SIZE", "two")).find("WORLD_SIZE=\"two\""), std::string::npos);
  EXPECT_NE(error_of(with("WORLD_SIZE", "0")).find("WORLD_SIZE=0"), std::string::npos);
  EXPECT_NE(error_of(without("MASTER_ADDR")).find("MASTER_ADDR is not set"), std::string::npos);
  EXPECT_NE(error_of(without("MASTER_PORT")).find("MASTER_PORT is not set"), std::string::npos);
  EXPECT_NE(error_of(with("MASTER_PORT", "70000")).find("MASTER_PORT=70000"), std::string::npos);
  EXPECT_NE(error_of(without("WORLD_SIZE")).find("RANK is set but WORLD_SIZE is not"), std::string::npos);
  EXPECT_NE(error_of(with("LOCAL_RANK", "5")).find("local rank 5"), std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "4"}, {"SLURM_NTASKS", "4"}}).find("SLURM_PROCID=4 is not below SLURM_NTASKS=4"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).find("SLURM_JOB_NODELIST"), std::string::npos);
  for (const auto& message : {error_of(with("RANK", "2")), error_of(without("MASTER_ADDR"))}) {
    EXPECT_EQ(message.find('\n'), std::string::npos);
    EXPECT_EQ(message.rfind("launcher environment: ", 0), 0u);
  }
}

}  // namespace
}  // namespace cocomix
