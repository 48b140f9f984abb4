// TopK SAE forward pieces and its two files (sae.json + sae.safetensors).
#include "cocomix/concept/sae.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cocomix/concept/top_k.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/parameter_tensors.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

const char* const kInfoFile = "sae.json";
const char* const kWeightsFile = "sae.safetensors";

}  // namespace

TopKSaeImpl::TopKSaeImpl(const SaeInfo& info) : info_(info) {
  pre_bias = register_parameter("pre_bias", torch::zeros({info.d}));
  latent_bias = register_parameter("latent_bias", torch::zeros({info.n_latents}));
  encoder = register_module("encoder", torch::nn::Linear(torch::nn::LinearOptions(info.d, info.n_latents).bias(false)));
  decoder = register_module("decoder", torch::nn::Linear(torch::nn::LinearOptions(info.n_latents, info.d).bias(false)));
  torch::NoGradGuard no_grad;
  auto directions = torch::randn({info.d, info.n_latents});  // [d, C]
  directions /= directions.norm(2, 0, /*keepdim=*/true);
  decoder->weight.copy_(directions);
  encoder->weight.copy_(directions.t());
}

torch::Tensor TopKSaeImpl::pre_activations(const torch::Tensor& x) {
  return torch::nn::functional::linear(x - pre_bias, encoder->weight) + latent_bias;  // [..., C]
}

SaeCode TopKSaeImpl::encode(const torch::Tensor& h) {
  SaeCode code;
  code.norm = normalize_positions(h);
  code.z_pre = pre_activations(code.norm.x);
  code.z = torch::relu(keep_top_k(code.z_pre, info_.k, &code.kept));
  return code;
}

SaeKeptCode TopKSaeImpl::encode_kept(const torch::Tensor& h) {
  auto [top_values, kept] = pre_activations(normalize_positions(h).x).topk(info_.k, /*dim=*/-1);  // keep_top_k's call
  return {kept, torch::relu(top_values)};
}

torch::Tensor TopKSaeImpl::decode_normalized(const torch::Tensor& z) {
  return torch::nn::functional::linear(z, decoder->weight) + pre_bias;  // [..., d]
}

torch::Tensor TopKSaeImpl::reconstruct(const SaeCode& code) {
  return code.norm.denormalize(decode_normalized(code.z));
}

TensorMap sae_state(TopKSaeImpl& sae) { return parameter_tensors(sae); }

void load_sae_state(TopKSaeImpl& sae, const TensorMap& tensors, const std::string& source) {
  const std::map<std::string, torch::Tensor*> targets = {{"pre_bias", &sae.pre_bias},
                                                         {"latent_bias", &sae.latent_bias},
                                                         {"encoder.weight", &sae.encoder->weight},
                                                         {"decoder.weight", &sae.decoder->weight}};
  for (const auto& item : tensors)
    if (targets.count(item.first) == 0) throw RuntimeError(source + ": tensor " + item.first + ": unexpected");
  // Every check before the first copy: a bad file leaves the SAE as it was.
  for (const auto& [name, target] : targets) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw RuntimeError(source + ": tensor " + name + ": missing");
    if (!it->second.sizes().equals(target->sizes()))
      throw RuntimeError(source + ": tensor " + name + ": shape " + c10::str(it->second.sizes()) +
                         " does not match the SAE's " + c10::str(target->sizes()) + " (d " +
                         std::to_string(sae.info().d) + ", n_latents " + std::to_string(sae.info().n_latents) + ")");
    if (!torch::isFloatingType(it->second.scalar_type()))
      throw RuntimeError(source + ": tensor " + name + ": not a floating-point tensor");
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, target] : targets) target->copy_(tensors.at(name));
}

TopKSae load_sae(const std::string& sae_dir) {
  const std::string info_path = (std::filesystem::path(sae_dir) / kInfoFile).string();
  const std::string weights_path = (std::filesystem::path(sae_dir) / kWeightsFile).string();
  const json document = read_json_file(info_path);  // read once: the sizes and the weights' digest
  TopKSae sae(sae_info_of(document, info_path));
  verify_sae_weights(document, info_path, weights_path);
  load_sae_state(*sae, load_safetensors(weights_path), weights_path);
  return sae;
}

void save_sae(TopKSaeImpl& sae, const std::string& sae_dir) {
  std::filesystem::create_directories(sae_dir);
  const auto& info = sae.info();
  const std::string weights_path = (std::filesystem::path(sae_dir) / kWeightsFile).string();
  save_safetensors_atomically(weights_path, sae_state(sae));
  json document = {{"d", info.d},
                   {"n_latents", info.n_latents},
                   {"k", info.k},
                   {"layer", info.layer},
                   {"teacher_sha256", info.teacher_sha256}};
  document["sha256"] = sha256_file_hex(weights_path);  // load_sae checks the weights against it
  write_file_atomically((std::filesystem::path(sae_dir) / kInfoFile).string(), document.dump(2) + "\n");
}

}  // namespace cocomix
