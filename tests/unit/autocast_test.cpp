// AutocastScope and the "auto" precision rule.
#include "cocomix/model/autocast.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

namespace cocomix {
namespace {

TEST(Autocast, ScopeCastsMatmulsToBf16AndRestores) {
  const auto a = torch::randn({4, 4});
  {
    AutocastScope scope(c10::DeviceType::CPU, true);
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kBFloat16);
    {
      AutocastScope nested(c10::DeviceType::CPU, true);
      EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kBFloat16);  // the inner scope kept the outer one on
  }
  EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
  AutocastScope disabled(c10::DeviceType::CPU, false);
  EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
}

TEST(Autocast, ResolvesPrecision) {
  EXPECT_EQ(resolve_precision("fp32", c10::DeviceType::CPU), "fp32");
  EXPECT_EQ(resolve_precision("bf16", c10::DeviceType::CPU), "bf16");
  EXPECT_EQ(resolve_precision("auto", c10::DeviceType::CUDA), "bf16");
  // On CPU "auto" follows the amx_bf16 flag of /proc/cpuinfo.
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::stringstream text;
  text << cpuinfo.rdbuf();
  const bool amx = text.str().find(" amx_bf16") != std::string::npos;
  EXPECT_EQ(resolve_precision("auto", c10::DeviceType::CPU), amx ? "bf16" : "fp32");
}

}  // namespace
}  // namespace cocomix
