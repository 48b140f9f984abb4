// The TopK SAE of concept/sae.h: normalize_positions by hand, encode/decode
// against tests/reference/make_sae_reference.py (PyTorch), the save/load round
// trip, and every kind of bad SAE directory (one RuntimeError naming the file).
#include "cocomix/concept/sae.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cocomix/io/safetensors.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/sha256.h"
#include "temp_dir.h"
#include "test_env.h"

namespace cocomix {
namespace {

SaeInfo small_info() {
  SaeInfo info;
  info.d = 6;
  info.n_latents = 10;
  info.k = 3;
  info.layer = 2;
  info.teacher_sha256 = "ab12";
  return info;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

/// Runs `action`, expects a RuntimeError whose message contains every fragment.
template <typename F>
void expect_runtime_error(F action, std::initializer_list<std::string> fragments) {
  try {
    action();
    FAIL() << "no error";
  } catch (const RuntimeError& e) {
    for (const auto& fragment : fragments)
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Sae, TeacherMismatchIsEmptyForItsOwnTeacherOrNoneRecorded) {
  SaeInfo info = small_info();
  EXPECT_EQ(teacher_mismatch(info, "ab12", "the teacher's"), "");
  EXPECT_EQ(teacher_mismatch(info, "cd34", "the teacher's"),
            "teacher_sha256 ab12 is not the sha256 of the teacher's weights (cd34): the SAE encodes another model");
  info.teacher_sha256.clear();  // an SAE written by another tool
  EXPECT_EQ(teacher_mismatch(info, "cd34", "the teacher's"), "");
}

TEST(Sae, NormalizePositionsByHand) {
  const auto h = torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}, {-2.0f, 0.0f, 0.0f, 2.0f}});
  const auto norm = normalize_positions(h);
  // Row 0: mu 2.5, deviations -1.5 -0.5 0.5 1.5, unbiased var (2.25+0.25+0.25+2.25)/3 = 5/3.
  // Row 1: mu 0, deviations -2 0 0 2, unbiased var 8/3.
  const double s0 = std::sqrt(5.0 / 3), s1 = std::sqrt(8.0 / 3);
  EXPECT_NEAR(norm.mu[0][0].item<double>(), 2.5, 1e-6);
  EXPECT_NEAR(norm.mu[1][0].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(norm.sigma[0][0].item<double>(), s0, 1e-6);
  EXPECT_NEAR(norm.sigma[1][0].item<double>(), s1, 1e-6);
  const double expected[2][4] = {{-1.5 / (s0 + 1e-5), -0.5 / (s0 + 1e-5), 0.5 / (s0 + 1e-5), 1.5 / (s0 + 1e-5)},
                                 {-2 / (s1 + 1e-5), 0, 0, 2 / (s1 + 1e-5)}};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(norm.x[r][c].item<double>(), expected[r][c], 1e-6);
  EXPECT_EQ(norm.mu.sizes(), (std::vector<int64_t>{2, 1}));
}

TEST(Sae, EncodeDecodeMatchPyTorchReference) {
  const std::string dir = test_env_dir("COCOMIX_REFERENCE_DIR") + "/sae_step";
  const auto ref = load_safetensors(dir + "/reference.safetensors");
  auto sae = load_sae(dir + "/sae");
  EXPECT_EQ(sae->info().k, 4);
  torch::NoGradGuard no_grad;
  const auto code = sae->encode(ref.at("h"));
  EXPECT_TRUE(torch::allclose(code.norm.x, ref.at("x"), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(code.z_pre, ref.at("z_pre"), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(code.z, ref.at("z"), 1e-5, 1e-5));
  // Exactly k (or fewer, where ReLU cuts) nonzero latents per token.
  EXPECT_LE((code.z != 0).sum(1).max().item<int64_t>(), 4);
  EXPECT_TRUE(torch::allclose(sae->decode_normalized(code.z), ref.at("x_hat"), 1e-5, 1e-5));
  // The de-normalised reconstruction: x_hat * sigma + mu.
  const auto h_hat = sae->reconstruct(code);
  EXPECT_TRUE(torch::allclose(h_hat, ref.at("x_hat") * code.norm.sigma + code.norm.mu, 1e-5, 1e-5));
}

TEST(Sae, EncodeKeptIsTheDenseCodeAtItsKeptLatents) {
  const std::string dir = test_env_dir("COCOMIX_REFERENCE_DIR") + "/sae_step";
  const auto ref = load_safetensors(dir + "/reference.safetensors");
  auto sae = load_sae(dir + "/sae");
  torch::NoGradGuard no_grad;
  const auto code = sae->encode(ref.at("h"));
  const auto kept = sae->encode_kept(ref.at("h"));
  EXPECT_TRUE(torch::equal(kept.kept, code.kept));
  EXPECT_TRUE(torch::equal(kept.values, code.z.gather(-1, code.kept)));
  // The reference's dense z at those latents, and nothing of it elsewhere.
  EXPECT_TRUE(torch::allclose(kept.values, ref.at("z").gather(-1, kept.kept), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(ref.at("z").abs().sum(-1), kept.values.abs().sum(-1), 1e-5, 1e-5));
}

TEST(Sae, InitHasUnitDecoderColumnsAndTiedEncoder) {
  torch::manual_seed(3);
  TopKSae sae(small_info());
  const auto norms = sae->decoder->weight.norm(2, 0);  // [C]
  EXPECT_TRUE(torch::allclose(norms, torch::ones_like(norms), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(sae->encoder->weight, sae->decoder->weight.t()));
}

TEST(Sae, SaveLoadRoundTrip) {
  testing::TempDir dir;
  torch::manual_seed(5);
  TopKSae sae(small_info());
  {
    torch::NoGradGuard no_grad;
    sae->pre_bias.normal_();
    sae->latent_bias.normal_();
  }
  const std::string sae_dir = dir.path() + "/nested/sae";
  save_sae(*sae, sae_dir);
  EXPECT_FALSE(std::filesystem::exists(sae_dir + "/sae.safetensors.tmp"));
  auto loaded = load_sae(sae_dir);
  EXPECT_EQ(loaded->info().d, 6);
  EXPECT_EQ(loaded->info().n_latents, 10);
  EXPECT_EQ(loaded->info().k, 3);
  EXPECT_EQ(loaded->info().layer, 2);
  EXPECT_EQ(loaded->info().teacher_sha256, "ab12");
  const auto a = sae_state(*sae), b = sae_state(*loaded);
  ASSERT_EQ(a.size(), 4u);
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  const auto h = torch::randn({5, 6});
  EXPECT_TRUE(torch::equal(sae->encode(h).z, loaded->encode(h).z));
}

class BadSaeFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(7);
    TopKSae sae(small_info());
    save_sae(*sae, dir_.path());
    tensors_ = load_safetensors(weights());
  }
  std::string info() const { return dir_.path() + "/sae.json"; }
  std::string weights() const { return dir_.path() + "/sae.safetensors"; }
  /// Writes tensors_ as the weights, with their digest in sae.json: a well-formed directory whose
  /// contents are wrong, so that the checks after the digest's are reached.
  void save_weights() {
    save_safetensors(weights(), tensors_);
    auto document = nlohmann::json::parse(std::ifstream(info()));
    document["sha256"] = sha256_file_hex(weights());
    write_text(info(), document.dump());
  }
  testing::TempDir dir_;
  TensorMap tensors_;
};

TEST_F(BadSaeFiles, MissingTensor) {
  tensors_.erase("latent_bias");
  save_weights();
  expect_runtime_error([&] { load_sae(dir_.path()); }, {weights(), "latent_bias", "missing"});
}

TEST_F(BadSaeFiles, UnexpectedTensor) {
  tensors_["stats_last_nonzero"] = torch::zeros({10}, torch::kInt64);
  save_weights();
  expect_runtime_error([&] { load_sae(dir_.path()); }, {weights(), "stats_last_nonzero", "unexpected"});
}

TEST_F(BadSaeFiles, WrongShape) {
  tensors_["decoder.weight"] = torch::zeros({10, 6});  // transposed
  save_weights();
  expect_runtime_error([&] { load_sae(dir_.path()); }, {weights(), "decoder.weight", "[10, 6]", "[6, 10]"});
}

TEST_F(BadSaeFiles, NotFloatingPoint) {
  tensors_["pre_bias"] = torch::zeros({6}, torch::kInt64);
  save_weights();
  expect_runtime_error([&] { load_sae(dir_.path()); }, {weights(), "pre_bias", "floating"});
}

TEST_F(BadSaeFiles, BadJson) {
  write_text(info(), "{\"d\": 6, \"n_latents\": ");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "not valid JSON"});
}

TEST_F(BadSaeFiles, MissingOrWrongFields) {
  write_text(info(), R"({"d": 6, "n_latents": 10, "layer": 2})");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "k", "missing"});
  write_text(info(), R"({"d": 6, "n_latents": 10, "k": 0, "layer": 2})");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "k", "positive integer"});
  write_text(info(), R"({"d": 6, "n_latents": 10, "k": 11, "layer": 2})");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "k: 11 exceeds n_latents 10"});
  write_text(info(), R"({"d": 6, "n_latents": 10, "k": 3, "layer": 2, "teacher_sha256": 5})");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "teacher_sha256"});
  write_text(info(), "[1, 2]");
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info(), "JSON object"});
}

TEST_F(BadSaeFiles, ShapesFollowTheJson) {
  write_text(info(), R"({"d": 6, "n_latents": 12, "k": 3, "layer": 2})");  // the file holds C = 10
  expect_runtime_error([&] { load_sae(dir_.path()); },
                       {weights(), "decoder.weight", "[6, 10]", "[6, 12]", "n_latents 12"});
}

TEST_F(BadSaeFiles, AFlippedByteIsNamed) {
  const auto recorded = nlohmann::json::parse(std::ifstream(info())).at("sha256").get<std::string>();
  EXPECT_EQ(recorded, sha256_file_hex(weights()));
  {
    std::fstream file(weights(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(-7, std::ios::end);
    const char byte = static_cast<char>(file.get() ^ 0x01);
    file.seekp(-7, std::ios::end);
    file.put(byte);
  }
  expect_runtime_error([&] { load_sae(dir_.path()); },
                       {weights() + ": corrupt: its sha256 is ", ", sae.json records " + recorded});
  // Without a digest (an SAE from another tool) the same file loads: the flipped byte is a float's.
  auto document = nlohmann::json::parse(std::ifstream(info()));
  document.erase("sha256");
  write_text(info(), document.dump());
  EXPECT_NO_THROW(load_sae(dir_.path()));
}

TEST_F(BadSaeFiles, MissingFiles) {
  std::filesystem::remove(weights());
  expect_runtime_error([&] { load_sae(dir_.path()); }, {weights()});
  std::filesystem::remove(info());
  expect_runtime_error([&] { load_sae(dir_.path()); }, {info()});
}

}  // namespace
}  // namespace cocomix
