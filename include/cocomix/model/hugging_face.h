// Hugging Face GPT-2 directories (what GPT2LMHeadModel.save_pretrained writes:
// config.json + model.safetensors): GPT2Config's JSON <-> ModelConfig, strict
// about every field that would change the forward, and the GPT read from such a
// directory. One implementation for the teacher loader and cocomix-convert.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cocomix/config/config.h"
#include "cocomix/model/gpt.h"

namespace cocomix {

inline constexpr const char* kHuggingFaceConfigFile = "config.json";
inline constexpr const char* kHuggingFaceWeightsFile = "model.safetensors";
/// GPT-2's vocabulary: 50257 ids, <|endoftext|> = 50256 (bos, eos and unk of GPT2Config).
inline constexpr int64_t kGpt2VocabSize = 50257;
inline constexpr int64_t kGpt2EndOfText = 50256;

/// GPT2Config's JSON as a ModelConfig. Requires model_type "gpt2" and the
/// positive integers vocab_size, n_positions, n_embd, n_layer, n_head (n_head
/// divides n_embd). Optional fields, checked when present: activation_function
/// (only "gelu_new"), n_inner (null or 4 n_embd), layer_norm_epsilon,
/// initializer_range (-> init_std), resid_pdrop (-> dropout; embd_pdrop and
/// attn_pdrop must be numbers in [0, 1) too), and the switches a GPT-2 forward
/// here does not implement: scale_attn_weights must not be false,
/// scale_attn_by_inverse_layer_idx and add_cross_attention must not be true,
/// tie_word_embeddings must not be false. Throws RuntimeError
/// "SOURCE: FIELD: what is wrong (what is expected)".
ModelConfig model_config_from_hugging_face(const nlohmann::json& document, const std::string& source);

/// GPT2Config's JSON for `config` (architectures ["GPT2LMHeadModel"],
/// model_type gpt2, n_inner null, gelu_new, the three dropouts = config.dropout,
/// torch_dtype). bos/eos_token_id are set only when `end_of_text` is given.
nlohmann::json hugging_face_config(const ModelConfig& config, const std::string& torch_dtype,
                                   std::optional<int64_t> end_of_text);

/// Whether DIR/config.json is a Hugging Face config (an object with
/// "model_type" or "n_embd" and no cocomix "model" section). False when the file
/// is absent; RuntimeError naming it when it is not valid JSON.
bool is_hugging_face_directory(const std::string& dir);

/// Reads DIR/config.json (RuntimeError naming the file when missing or not valid JSON).
nlohmann::json read_hugging_face_config(const std::string& dir);

/// The GPT of a Hugging Face GPT-2 directory: the config through
/// model_config_from_hugging_face, model.safetensors through the strict
/// load_gpt_state_dict. Returned in train mode, as built.
GPT load_hugging_face_gpt2(const std::string& dir);

}  // namespace cocomix
