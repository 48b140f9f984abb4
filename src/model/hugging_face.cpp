// GPT2Config JSON <-> ModelConfig, with one-line errors naming the file and the
// field, and the GPT of a Hugging Face GPT-2 directory (see hugging_face.h).
#include "cocomix/model/hugging_face.h"

#include <filesystem>

#include "cocomix/io/safetensors.h"
#include "cocomix/model/gpt_weights.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/json_field.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

[[noreturn]] void fail_key(const std::string& source, const std::string& key, const std::string& what) {
  throw RuntimeError(source + ": " + key + ": " + what);
}

int64_t positive_integer(const json& document, const char* key, const std::string& source) {
  const auto it = document.find(key);
  if (it == document.end()) fail_key(source, key, "missing (expected a positive integer)");
  if (!it->is_number_integer() || it->get<int64_t>() < 1)
    fail_key(source, key, "expected a positive integer, got " + it->dump());
  return it->get<int64_t>();
}

/// document[key] as a number (`fallback` when absent); it must lie in [low, high).
double number_in(const json& document, const char* key, double fallback, double low, double high,
                 const std::string& source) {
  const auto it = document.find(key);
  if (it == document.end()) return fallback;
  if (!it->is_number() || it->get<double>() < low || it->get<double>() >= high)
    fail_key(source, key,
             "expected a number in [" + std::to_string(low) + ", " + (high > 1e300 ? "inf" : std::to_string(high)) +
                 "), got " + it->dump());
  return it->get<double>();
}

/// A boolean switch that must not take `unsupported` (absent is fine: GPT2Config's default is supported).
void require_switch(const json& document, const char* key, bool unsupported, const std::string& source) {
  const auto it = document.find(key);
  if (it == document.end()) return;
  if (!it->is_boolean()) fail_key(source, key, "expected true or false, got " + it->dump());
  if (it->get<bool>() == unsupported)
    fail_key(source, key,
             std::string(unsupported ? "true" : "false") + " is not supported (cocomix's GPT-2 implements " +
                 (unsupported ? "false" : "true") + " only)");
}

}  // namespace

ModelConfig model_config_from_hugging_face(const json& document, const std::string& source) {
  if (!document.is_object()) throw RuntimeError(source + ": expected a JSON object (GPT2Config)");
  const auto type = document.find("model_type");
  if (type == document.end()) fail_key(source, "model_type", "missing (expected \"gpt2\")");
  if (*type != "gpt2") fail_key(source, "model_type", type->dump() + " is not supported (expected \"gpt2\")");

  ModelConfig config;
  config.vocab_size = positive_integer(document, "vocab_size", source);
  config.n_positions = positive_integer(document, "n_positions", source);
  config.n_embd = positive_integer(document, "n_embd", source);
  config.n_layer = positive_integer(document, "n_layer", source);
  config.n_head = positive_integer(document, "n_head", source);
  if (config.n_embd % config.n_head != 0)
    fail_key(source, "n_head",
             std::to_string(config.n_head) + " does not divide n_embd " + std::to_string(config.n_embd));

  const auto activation = document.find("activation_function");
  if (activation != document.end() && *activation != "gelu_new")
    fail_key(source, "activation_function", activation->dump() + " is not supported (expected \"gelu_new\")");
  const auto inner = document.find("n_inner");
  if (inner != document.end() && !inner->is_null() &&
      !(inner->is_number_integer() && inner->get<int64_t>() == 4 * config.n_embd))
    fail_key(
        source, "n_inner",
        inner->dump() + " is not supported (expected null or 4 * n_embd = " + std::to_string(4 * config.n_embd) + ")");
  require_switch(document, "scale_attn_weights", false, source);
  require_switch(document, "scale_attn_by_inverse_layer_idx", true, source);
  require_switch(document, "add_cross_attention", true, source);
  require_switch(document, "tie_word_embeddings", false, source);

  config.layer_norm_epsilon = number_in(document, "layer_norm_epsilon", 1e-5, 1e-300, 1e300, source);
  config.init_std = number_in(document, "initializer_range", 0.02, 1e-300, 1e300, source);
  config.dropout = number_in(document, "resid_pdrop", 0.1, 0, 1, source);
  number_in(document, "embd_pdrop", 0.1, 0, 1, source);
  number_in(document, "attn_pdrop", 0.1, 0, 1, source);
  return config;
}

json hugging_face_config(const ModelConfig& config, const std::string& torch_dtype,
                         std::optional<int64_t> end_of_text) {
  json document = {{"architectures", {"GPT2LMHeadModel"}},
                   {"model_type", "gpt2"},
                   {"vocab_size", config.vocab_size},
                   {"n_positions", config.n_positions},
                   {"n_embd", config.n_embd},
                   {"n_layer", config.n_layer},
                   {"n_head", config.n_head},
                   {"n_inner", nullptr},
                   {"activation_function", "gelu_new"},
                   {"layer_norm_epsilon", config.layer_norm_epsilon},
                   {"initializer_range", config.init_std},
                   {"resid_pdrop", config.dropout},
                   {"embd_pdrop", config.dropout},
                   {"attn_pdrop", config.dropout},
                   {"scale_attn_weights", true},
                   {"scale_attn_by_inverse_layer_idx", false},
                   {"reorder_and_upcast_attn", false},
                   {"tie_word_embeddings", true},
                   {"use_cache", true},
                   {"torch_dtype", torch_dtype}};
  if (end_of_text) {
    document["bos_token_id"] = *end_of_text;
    document["eos_token_id"] = *end_of_text;
  }
  return document;
}

json read_hugging_face_config(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / kHuggingFaceConfigFile).string();
  if (!std::filesystem::is_regular_file(path))
    throw RuntimeError(path + ": missing (a Hugging Face GPT-2 directory holds config.json and model.safetensors)");
  return read_json_file(path);
}

bool is_hugging_face_directory(const std::string& dir) {
  if (!std::filesystem::is_regular_file(std::filesystem::path(dir) / kHuggingFaceConfigFile)) return false;
  const json document = read_hugging_face_config(dir);
  return document.is_object() && (document.contains("model_type") || document.contains("n_embd")) &&
         !document.contains("model");
}

GPT load_hugging_face_gpt2(const std::string& dir) {
  const std::string config_path = (std::filesystem::path(dir) / kHuggingFaceConfigFile).string();
  GPT model(model_config_from_hugging_face(read_hugging_face_config(dir), config_path));
  const std::string weights = (std::filesystem::path(dir) / kHuggingFaceWeightsFile).string();
  if (!std::filesystem::is_regular_file(weights)) throw RuntimeError(weights + ": missing");
  load_gpt_state_dict(*model, load_safetensors(weights), weights);
  return model;
}

}  // namespace cocomix
