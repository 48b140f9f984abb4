// sae.json's fields and the digest of the weights it records.
#include "cocomix/concept/sae_info.h"

#include "cocomix/util/error.h"
#include "cocomix/util/json_field.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

int64_t positive_field(const json& document, const char* key, const std::string& source) {
  const auto it = document.find(key);
  if (it == document.end()) throw RuntimeError(source + ": " + key + ": missing");
  if (!it->is_number_integer() || it->get<int64_t>() < 1)
    throw RuntimeError(source + ": " + key + ": expected a positive integer, got " + it->dump());
  return it->get<int64_t>();
}

}  // namespace

SaeInfo sae_info_of(const json& document, const std::string& path) {
  if (!document.is_object()) throw RuntimeError(path + ": expected a JSON object");
  SaeInfo info;
  info.d = positive_field(document, "d", path);
  info.n_latents = positive_field(document, "n_latents", path);
  info.k = positive_field(document, "k", path);
  info.layer = positive_field(document, "layer", path);
  if (info.k > info.n_latents)
    throw RuntimeError(path + ": k: " + std::to_string(info.k) + " exceeds n_latents " +
                       std::to_string(info.n_latents));
  const auto hash = document.find("teacher_sha256");
  if (hash != document.end()) {
    if (!hash->is_string()) throw RuntimeError(path + ": teacher_sha256: expected a string");
    info.teacher_sha256 = hash->get<std::string>();
  }
  return info;
}

std::string teacher_mismatch(const SaeInfo& info, const std::string& weights_sha256, const std::string& whose) {
  if (info.teacher_sha256.empty() || info.teacher_sha256 == weights_sha256) return "";
  return "teacher_sha256 " + info.teacher_sha256 + " is not the sha256 of " + whose + " weights (" + weights_sha256 +
         "): the SAE encodes another model";
}

SaeInfo read_sae_info(const std::string& path) { return sae_info_of(read_json_file(path), path); }

void verify_sae_weights(const json& document, const std::string& info_path, const std::string& weights_path) {
  const auto recorded = document.find("sha256");
  if (recorded == document.end()) {
    log_warn(info_path + ": records no sha256 of sae.safetensors: loaded without verifying it");
    return;
  }
  if (!recorded->is_string()) throw RuntimeError(info_path + ": sha256: expected a string, got " + recorded->dump());
  const std::string actual = sha256_file_hex(weights_path);
  if (actual != recorded->get<std::string>())
    throw RuntimeError(weights_path + ": corrupt: its sha256 is " + actual + ", sae.json records " +
                       recorded->get<std::string>());
}

}  // namespace cocomix
