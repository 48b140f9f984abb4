// AutocastScope, Tf32Scope, the teacher's precision and the "auto" precision rule.
#include "cocomix/model/autocast.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "cocomix/util/error.h"

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

at::Float32Precision cuda_matmul_precision() {
  return at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL);
}

TEST(Autocast, Tf32ScopeSetsCudaMatmulPrecisionAndRestores) {
  const auto before = cuda_matmul_precision();
  {
    Tf32Scope on(true);
    EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::TF32);
    {
      Tf32Scope off(false);
      EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::IEEE);
    }
    EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::TF32);
  }
  EXPECT_EQ(cuda_matmul_precision(), before);
  // CPU matmuls stay exact fp32 under TF32: the same bits as outside the scope.
  torch::manual_seed(0);
  const auto a = torch::randn({64, 64});
  const auto exact = torch::matmul(a, a);
  Tf32Scope on(true);
  EXPECT_TRUE(torch::equal(torch::matmul(a, a), exact));
}

TEST(Autocast, TeacherPrecisionOverridesTheStudentsSettings) {
  const auto a = torch::randn({4, 4});
  AutocastScope student_autocast(c10::DeviceType::CPU, true);
  Tf32Scope student_tf32(true);
  {
    TeacherPrecisionScope teacher(c10::DeviceType::CPU, TeacherPrecision::kFp32);
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
    EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::IEEE);
  }
  {
    TeacherPrecisionScope teacher(c10::DeviceType::CPU, TeacherPrecision::kTf32);
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
    EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::TF32);
  }
  {
    Tf32Scope student_exact(false);
    TeacherPrecisionScope teacher(c10::DeviceType::CPU, TeacherPrecision::kBf16);
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::IEEE);
  }
  EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kBFloat16);  // the student's autocast is back
  EXPECT_EQ(cuda_matmul_precision(), at::Float32Precision::TF32);
}

TEST(Autocast, ParsesTeacherPrecision) {
  EXPECT_EQ(parse_teacher_precision("fp32", "f"), TeacherPrecision::kFp32);
  EXPECT_EQ(parse_teacher_precision("tf32", "f"), TeacherPrecision::kTf32);
  EXPECT_EQ(parse_teacher_precision("bf16", "f"), TeacherPrecision::kBf16);
  for (const auto precision : {TeacherPrecision::kFp32, TeacherPrecision::kTf32, TeacherPrecision::kBf16})
    EXPECT_EQ(parse_teacher_precision(name_of(precision), "f"), precision);
  try {
    parse_teacher_precision("fp16", "c.json: concept.teacher_precision");
    FAIL() << "fp16 accepted";
  } catch (const UsageError& error) {
    EXPECT_STREQ(error.what(),
                 "c.json: concept.teacher_precision: must be \"fp32\", \"tf32\" or \"bf16\", got \"fp16\"");
  }
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
