// load_teacher: Hugging Face GPT-2 directory or cocomix checkpoint, then frozen.
#include "cocomix/concept/teacher.h"

#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cocomix/eval/checkpoint_model.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

/// GPT2Config's JSON (config.json of a Hugging Face GPT-2) as a ModelConfig.
ModelConfig model_config_from_hugging_face(const json& document, const std::string& source) {
  const auto integer = [&](const char* key) {
    const auto it = document.find(key);
    if (it == document.end() || !it->is_number_integer() || it->get<int64_t>() < 1)
      throw RuntimeError(source + ": " + key + ": expected a positive integer" +
                         (it == document.end() ? std::string(", missing") : ", got " + it->dump()));
    return it->get<int64_t>();
  };
  ModelConfig config;
  config.vocab_size = integer("vocab_size");
  config.n_positions = integer("n_positions");
  config.n_embd = integer("n_embd");
  config.n_layer = integer("n_layer");
  config.n_head = integer("n_head");
  const auto eps = document.find("layer_norm_epsilon");
  if (eps != document.end()) {
    if (!eps->is_number()) throw RuntimeError(source + ": layer_norm_epsilon: expected a number");
    config.layer_norm_epsilon = eps->get<double>();
  }
  if (config.n_embd % config.n_head != 0)
    throw RuntimeError(source + ": n_head: " + std::to_string(config.n_head) + " does not divide n_embd " +
                       std::to_string(config.n_embd));
  config.dropout = 0;
  return config;
}

}  // namespace

GPT load_teacher(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string config_path = (fs::path(path) / "config.json").string();
  GPT teacher{nullptr};
  json document;
  if (fs::is_regular_file(config_path)) {
    try {
      document = json::parse(read_whole_file(config_path));
    } catch (const json::exception& e) {
      throw RuntimeError(config_path + ": not valid JSON (" + e.what() + ")");
    }
  }
  if (document.is_object() && document.contains("n_embd") && !document.contains("model")) {
    // A Hugging Face GPT-2 directory.
    teacher = GPT(model_config_from_hugging_face(document, config_path));
    const std::string weights = (fs::path(path) / "model.safetensors").string();
    load_gpt_state_dict(*teacher, load_safetensors(weights), weights);
  } else {
    auto loaded = load_model_for_eval(path);
    auto* ntp = dynamic_cast<NextTokenObjective*>(loaded.objective.get());
    if (ntp == nullptr)
      throw RuntimeError(loaded.checkpoint_dir + ": not a next-token-prediction checkpoint (a teacher must be a GPT)");
    teacher = ntp->model();
  }
  teacher->eval();
  for (auto& parameter : teacher->parameters()) parameter.requires_grad_(false);
  return teacher;
}

}  // namespace cocomix
