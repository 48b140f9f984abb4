// Hugging Face GPT-2 interchange (model/hugging_face.h, convert/hugging_face_convert.h):
// an imported save_pretrained directory (tests/reference/make_hf_convert.py)
// gives transformers' logits; import(export(checkpoint)) and
// export(import(hf)) are bit-exact on every tensor; CoCoMix checkpoints export
// their concept head beside the GPT; every bad config field or tensor is one
// line naming the file and the field.
#include "cocomix/model/hugging_face.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cocomix/concept/teacher.h"
#include "cocomix/convert/hugging_face_convert.h"
#include "cocomix/io/checkpoint.h"
#include "cocomix/io/safetensors.h"
#include "cocomix/model/checkpoint_model.h"
#include "cocomix/objective/make_objective.h"
#include "cocomix/util/error.h"
#include "cocomix/util/fs.h"
#include "cocomix/util/sha256.h"
#include "temp_dir.h"
#include "test_env.h"

namespace cocomix {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string reference_dir() { return test_env_dir("COCOMIX_REFERENCE_DIR") + "/hf_convert"; }
std::string hf_dir() { return reference_dir() + "/hf"; }

/// The message of what `body` throws as E ("" when it throws nothing).
template <typename E, typename F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

/// A copy of the reference HF directory whose config.json is `edit`ed.
std::string hf_copy(const std::string& root, const std::function<void(json&)>& edit) {
  const std::string dir = root + "/hf_copy";
  fs::create_directories(dir);
  fs::copy_file(hf_dir() + "/model.safetensors", dir + "/model.safetensors", fs::copy_options::overwrite_existing);
  json config = json::parse(read_whole_file(hf_dir() + "/config.json"));
  edit(config);
  write_file_atomically(dir + "/config.json", config.dump(2));
  return dir;
}

Config small_config(const std::string& mode, int64_t vocab_size = 97) {
  Config config;
  config.model.vocab_size = vocab_size;
  config.model.n_positions = 16;
  config.model.n_embd = 16;
  config.model.n_layer = 2;
  config.model.n_head = 2;
  config.data.seq_len = 16;
  config.concepts.mode = find_mode(mode)->mode;
  if (mode != "ntp") {
    config.concepts.n_concepts = 40;
    config.concepts.k_pred = 4;
    config.concepts.insert_layer = 1;
    config.concepts.teacher_path = "teacher-not-loaded-for-export";
    config.concepts.sae_path = "sae-not-loaded-for-export";
  }
  config.validate();
  return config;
}

/// A checkpoint of a freshly initialised objective of `config` (OUT/checkpoints/step_00000007).
std::string write_checkpoint(const std::string& out, const Config& config) {
  torch::manual_seed(11);
  auto objective = make_objective(config, /*with_teacher=*/false);
  CheckpointContents contents;
  contents.model = objective->model()->state_dict();
  contents.config = config_to_json(config);
  contents.trainer_state = {{"step", 7}};
  return save_checkpoint(out + "/checkpoints", 7, contents, 1);
}

void expect_same_tensors(const TensorMap& actual, const TensorMap& expected) {
  std::set<std::string> actual_names, expected_names;
  for (const auto& entry : actual) actual_names.insert(entry.first);
  for (const auto& entry : expected) expected_names.insert(entry.first);
  ASSERT_EQ(actual_names, expected_names);
  for (const auto& [name, tensor] : expected) {
    EXPECT_EQ(actual.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(actual.at(name), tensor)) << name;
  }
}

double max_relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return ((actual - expected).abs() / (1 + expected.abs())).max().item<double>();
}

TEST(HuggingFace, ImportedDirectoryGivesTransformersLogits) {
  testing::TempDir tmp;
  const std::string checkpoint = import_hugging_face(hf_dir(), tmp.path() + "/run");
  EXPECT_EQ(checkpoint, tmp.path() + "/run/checkpoints/step_00000000");
  const TensorMap reference = load_safetensors(reference_dir() + "/reference.safetensors");
  const auto& inputs = reference.at("inputs");  // [B, T]
  auto loaded = load_model(tmp.path() + "/run");
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_relative_error(loaded.model->logits(inputs), reference.at("logits")), 1e-5);
  // The teacher loader reads the same directory (and the imported checkpoint) to the same model.
  EXPECT_LT(max_relative_error(load_teacher(hf_dir())->forward(inputs), reference.at("logits")), 1e-5);
  EXPECT_LT(max_relative_error(load_teacher(checkpoint)->forward(inputs), reference.at("logits")), 1e-5);
}

TEST(HuggingFace, ExportOfImportIsTheHuggingFaceFile) {
  testing::TempDir tmp;
  import_hugging_face(hf_dir(), tmp.path() + "/run");
  const auto result = export_hugging_face(tmp.path() + "/run", tmp.path() + "/hf", "");
  EXPECT_TRUE(result.same_forward);
  EXPECT_FALSE(result.concept_files);
  EXPECT_TRUE(result.tokenizer_dir.empty());  // 101 ids: not GPT-2's vocabulary
  StringMap metadata;
  const TensorMap exported = load_safetensors(tmp.path() + "/hf/model.safetensors", &metadata);
  EXPECT_EQ(metadata.at("format"), "pt");
  expect_same_tensors(exported, load_safetensors(hf_dir() + "/model.safetensors"));

  const json original = json::parse(read_whole_file(hf_dir() + "/config.json"));
  const json config = json::parse(read_whole_file(tmp.path() + "/hf/config.json"));
  for (const char* key : {"model_type", "vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
                          "activation_function", "layer_norm_epsilon", "resid_pdrop", "embd_pdrop", "attn_pdrop",
                          "architectures"})
    EXPECT_EQ(config.at(key), original.at(key)) << key;
  EXPECT_FALSE(config.contains("bos_token_id"));
  EXPECT_FALSE(fs::exists(tmp.path() + "/hf/vocab.json"));
}

TEST(HuggingFace, ImportOfExportIsBitExact) {
  testing::TempDir tmp;
  const Config config = small_config("ntp");
  const std::string checkpoint = write_checkpoint(tmp.path() + "/run", config);
  export_hugging_face(tmp.path() + "/run", tmp.path() + "/hf", "");
  const std::string imported = import_hugging_face(tmp.path() + "/hf", tmp.path() + "/back");
  expect_same_tensors(load_safetensors(imported + "/model.safetensors"),
                      load_safetensors(checkpoint + "/model.safetensors"));
  const Config back = config_from_json(json::parse(read_whole_file(imported + "/config.json")), "imported");
  EXPECT_EQ(config_to_json(back)["model"], config_to_json(config)["model"]);
}

TEST(HuggingFace, CoCoMixExportsTheStudentAndTheConceptHead) {
  testing::TempDir tmp;
  const Config config = small_config("cocomix");
  const std::string checkpoint = write_checkpoint(tmp.path() + "/run", config);
  const auto result = export_hugging_face(checkpoint, tmp.path() + "/hf", "");
  EXPECT_EQ(result.mode, "cocomix");
  EXPECT_FALSE(result.same_forward);
  ASSERT_TRUE(result.concept_files);

  const TensorMap saved = load_safetensors(checkpoint + "/model.safetensors");
  TensorMap gpt, head;
  for (const auto& [name, tensor] : saved) (name.rfind("concept.", 0) == 0 ? head : gpt).emplace(name, tensor);
  EXPECT_EQ(head.size(), 5u);  // pre_bias, predictor.{weight,bias}, compressor.{weight,bias}
  expect_same_tensors(load_safetensors(tmp.path() + "/hf/model.safetensors"), gpt);
  expect_same_tensors(load_safetensors(tmp.path() + "/hf/" + kConceptExportWeightsFile), head);

  const json info = json::parse(read_whole_file(tmp.path() + "/hf/" + kConceptExportInfoFile));
  EXPECT_EQ(info.at("mode"), "cocomix");
  EXPECT_EQ(info.at("insertion"), "concept_interleave");
  EXPECT_EQ(info.at("insert_layer"), 1);
  EXPECT_EQ(info.at("k_pred"), 4);
  EXPECT_EQ(info.at("n_concepts"), 40);
  EXPECT_EQ(info.at("hf_forward_is_cocomix_forward"), false);
  // The GPT part alone imports as an NTP checkpoint.
  const std::string imported = import_hugging_face(tmp.path() + "/hf", tmp.path() + "/back");
  expect_same_tensors(load_safetensors(imported + "/model.safetensors"), gpt);
}

TEST(HuggingFace, HiddenPredictionExportsTheMlpAndCompressorWithoutATeacher) {
  testing::TempDir tmp;
  Config config = small_config("ntp");
  config.concepts.mode = Mode::kHiddenPrediction;
  config.concepts.insert_layer = 1;
  config.concepts.teacher_path = "teacher-not-loaded-for-export";
  config.concepts.teacher_layer = 2;
  config.concepts.teacher_n_embd = 24;
  config.validate();
  const std::string checkpoint = write_checkpoint(tmp.path() + "/run", config);
  const auto result = export_hugging_face(checkpoint, tmp.path() + "/hf", "");
  EXPECT_EQ(result.mode, "hidden_prediction");
  EXPECT_FALSE(result.same_forward);
  ASSERT_TRUE(result.concept_files);

  TensorMap gpt, hidden;
  for (const auto& [name, tensor] : load_safetensors(checkpoint + "/model.safetensors"))
    (name.rfind("hidden_prediction.", 0) == 0 ? hidden : gpt).emplace(name, tensor);
  EXPECT_EQ(hidden.size(), 6u);  // c_fc, c_proj, compressor: weight and bias each
  EXPECT_EQ(hidden.at("hidden_prediction.c_fc.weight").sizes(), torch::IntArrayRef({16, 64}));        // [d, 4d]
  EXPECT_EQ(hidden.at("hidden_prediction.c_proj.weight").sizes(), torch::IntArrayRef({64, 24}));      // [4d, d_t]
  EXPECT_EQ(hidden.at("hidden_prediction.compressor.weight").sizes(), torch::IntArrayRef({24, 16}));  // [d_t, d]
  expect_same_tensors(load_safetensors(tmp.path() + "/hf/model.safetensors"), gpt);
  expect_same_tensors(load_safetensors(tmp.path() + "/hf/" + kConceptExportWeightsFile), hidden);

  const json info = json::parse(read_whole_file(tmp.path() + "/hf/" + kConceptExportInfoFile));
  EXPECT_EQ(info.at("mode"), "hidden_prediction");
  EXPECT_EQ(info.at("insertion"), "concept_interleave");
  EXPECT_EQ(info.at("teacher_layer"), 2);
  EXPECT_EQ(info.at("teacher_n_embd"), 24);
  EXPECT_EQ(info.at("hidden_mlp_width"), 64);
  EXPECT_EQ(info.at("hidden_activation"), "gelu");
}

TEST(HuggingFace, PauseAndKdExports) {
  testing::TempDir tmp;
  const std::string pause = write_checkpoint(tmp.path() + "/pause", small_config("pause"));
  const auto paused = export_hugging_face(pause, tmp.path() + "/hf_pause", "");
  EXPECT_FALSE(paused.same_forward);
  const TensorMap extra = load_safetensors(tmp.path() + "/hf_pause/" + kConceptExportWeightsFile);
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_TRUE(torch::equal(extra.at("pause.vector"), load_safetensors(pause + "/model.safetensors").at("pause.vector")));
  const json info = json::parse(read_whole_file(tmp.path() + "/hf_pause/" + kConceptExportInfoFile));
  EXPECT_EQ(info.at("insertion"), "pause_interleave");
  EXPECT_EQ(info.at("pause_position"), "token");

  // KD students insert nothing: the HF forward is theirs and there is no extra file.
  write_checkpoint(tmp.path() + "/kd", small_config("kd"));
  const auto kd = export_hugging_face(tmp.path() + "/kd", tmp.path() + "/hf_kd", "");
  EXPECT_TRUE(kd.same_forward);
  EXPECT_FALSE(kd.concept_files);
  EXPECT_FALSE(fs::exists(tmp.path() + "/hf_kd/" + kConceptExportWeightsFile));
}

TEST(CheckpointModel, APauseConfigWithoutPausePositionLoadsWithoutPositions) {
  testing::TempDir tmp;
  const std::string checkpoint = write_checkpoint(tmp.path() + "/pause", small_config("pause"));
  const auto inputs = torch::arange(12, torch::kLong).reshape({2, 6});
  LoadedModel positioned = load_model(checkpoint);
  EXPECT_EQ(positioned.config.concepts.pause_position, PausePosition::kToken);

  json config = json::parse(read_whole_file(checkpoint + "/config.json"));
  ASSERT_EQ(config["concept"].erase("pause_position"), 1u);
  write_file_atomically(checkpoint + "/config.json", config.dump(2));
  write_file_atomically(checkpoint + "/COMPLETE", "step 7\n");  // as written then: no digests
  LoadedModel unpositioned = load_model(checkpoint);
  EXPECT_EQ(unpositioned.config.concepts.pause_position, PausePosition::kNone);
  // The two layouts are different models on the same weights.
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(torch::allclose(positioned.model->logits(inputs), unpositioned.model->logits(inputs)));
}

TEST(HuggingFace, Gpt2VocabularyWritesTheTokenizerFiles) {
  testing::TempDir tmp;
  const std::string tokenizer = test_env_dir("COCOMIX_SHARED_DATA") + "/gpt2_tokenizer";
  Config config = small_config("ntp", kGpt2VocabSize);
  write_checkpoint(tmp.path() + "/run", config);
  const std::string missing = error_of<UsageError>([&] { export_hugging_face(tmp.path() + "/run", tmp.path() + "/a", ""); });
  EXPECT_EQ(missing.rfind("--tokenizer: required: the checkpoint's vocabulary (50257 ids) is GPT-2's", 0), 0u) << missing;
  EXPECT_FALSE(fs::exists(tmp.path() + "/a/model.safetensors"));  // nothing written

  export_hugging_face(tmp.path() + "/run", tmp.path() + "/hf", tokenizer);
  EXPECT_EQ(read_whole_file(tmp.path() + "/hf/vocab.json"), read_whole_file(tokenizer + "/encoder.json"));
  EXPECT_EQ(read_whole_file(tmp.path() + "/hf/merges.txt"), read_whole_file(tokenizer + "/vocab.bpe"));
  const json hf_config = json::parse(read_whole_file(tmp.path() + "/hf/config.json"));
  EXPECT_EQ(hf_config.at("bos_token_id"), 50256);
  EXPECT_EQ(hf_config.at("eos_token_id"), 50256);
  const json tokenizer_config = json::parse(read_whole_file(tmp.path() + "/hf/tokenizer_config.json"));
  EXPECT_EQ(tokenizer_config.at("eos_token"), "<|endoftext|>");
  EXPECT_EQ(tokenizer_config.at("model_max_length"), 16);

  // Without the flag, the tokenizer files that the data manifest records (sha256 checked).
  const std::string data = tmp.path() + "/data";
  fs::create_directories(data);
  json files = json::array();
  for (const char* name : {"encoder.json", "vocab.bpe"})
    files.push_back({{"path", tokenizer + "/" + name}, {"sha256", sha256_file_hex(tokenizer + "/" + name)}});
  write_file_atomically(data + "/manifest.json",
                        json{{"tokenizer", "gpt2"}, {"settings", {{"tokenizer_files", files}}}}.dump());
  config.data.train_path = data + "/train_000000.bin";
  write_checkpoint(tmp.path() + "/run2", config);
  const auto result = export_hugging_face(tmp.path() + "/run2", tmp.path() + "/hf2", "");
  EXPECT_EQ(fs::path(result.tokenizer_dir), fs::path(tokenizer));
  EXPECT_EQ(read_whole_file(tmp.path() + "/hf2/merges.txt"), read_whole_file(tokenizer + "/vocab.bpe"));
}

TEST(HuggingFace, ConfigRoundTrip) {
  ModelConfig model;
  model.vocab_size = 300;
  model.n_positions = 48;
  model.n_embd = 24;
  model.n_layer = 3;
  model.n_head = 3;
  model.dropout = 0.25;
  model.layer_norm_epsilon = 1e-6;
  model.init_std = 0.03;
  const ModelConfig back = model_config_from_hugging_face(hugging_face_config(model, "float32", 7), "c");
  EXPECT_EQ(back.vocab_size, 300);
  EXPECT_EQ(back.n_positions, 48);
  EXPECT_EQ(back.n_embd, 24);
  EXPECT_EQ(back.n_layer, 3);
  EXPECT_EQ(back.n_head, 3);
  EXPECT_EQ(back.dropout, 0.25);
  EXPECT_EQ(back.layer_norm_epsilon, 1e-6);
  EXPECT_EQ(back.init_std, 0.03);
}

TEST(HuggingFace, BadConfigFieldsNameFileAndField) {
  testing::TempDir tmp;
  const auto import_error = [&](const std::function<void(json&)>& edit) {
    const std::string dir = hf_copy(tmp.path(), edit);
    fs::remove_all(tmp.path() + "/out");
    return error_of<RuntimeError>([&] { import_hugging_face(dir, tmp.path() + "/out"); });
  };
  const std::string file = tmp.path() + "/hf_copy/config.json: ";
  EXPECT_EQ(import_error([](json& c) { c["model_type"] = "llama"; }),
            file + "model_type: \"llama\" is not supported (expected \"gpt2\")");
  EXPECT_EQ(import_error([](json& c) { c.erase("model_type"); }), file + "model_type: missing (expected \"gpt2\")");
  EXPECT_EQ(import_error([](json& c) { c.erase("n_embd"); }), file + "n_embd: missing (expected a positive integer)");
  EXPECT_EQ(import_error([](json& c) { c["n_layer"] = "2"; }),
            file + "n_layer: expected a positive integer, got \"2\"");
  EXPECT_EQ(import_error([](json& c) { c["n_head"] = 5; }), file + "n_head: 5 does not divide n_embd 32");
  EXPECT_EQ(import_error([](json& c) { c["activation_function"] = "relu"; }),
            file + "activation_function: \"relu\" is not supported (expected \"gelu_new\")");
  EXPECT_EQ(import_error([](json& c) { c["n_inner"] = 64; }),
            file + "n_inner: 64 is not supported (expected null or 4 * n_embd = 128)");
  EXPECT_EQ(import_error([](json& c) { c["tie_word_embeddings"] = false; }),
            file + "tie_word_embeddings: false is not supported (cocomix's GPT-2 implements true only)");
  EXPECT_EQ(import_error([](json& c) { c["scale_attn_by_inverse_layer_idx"] = true; }),
            file + "scale_attn_by_inverse_layer_idx: true is not supported (cocomix's GPT-2 implements false only)");
  EXPECT_EQ(import_error([](json& c) { c["resid_pdrop"] = 1.5; }).rfind(file + "resid_pdrop: expected a number in [", 0),
            0u);
  // A model that disagrees with its weights: the shape names the tensor.
  EXPECT_EQ(import_error([](json& c) { c["vocab_size"] = 100; }),
            tmp.path() + "/hf_copy/model.safetensors: tensor transformer.wte.weight: shape [101, 32] does not match "
                         "the model's [100, 32]");

  write_file_atomically(tmp.path() + "/hf_copy/config.json", "{\"model_type\": \"gpt2\",");
  const std::string malformed =
      error_of<RuntimeError>([&] { import_hugging_face(tmp.path() + "/hf_copy", tmp.path() + "/out"); });
  EXPECT_EQ(malformed.rfind(tmp.path() + "/hf_copy/config.json: not valid JSON", 0), 0u) << malformed;
  EXPECT_EQ(malformed.find('\n'), std::string::npos);
  fs::remove(tmp.path() + "/hf_copy/config.json");
  EXPECT_EQ(error_of<RuntimeError>([&] { import_hugging_face(tmp.path() + "/hf_copy", tmp.path() + "/out"); })
                .rfind(tmp.path() + "/hf_copy/config.json: missing", 0),
            0u);
}

TEST(HuggingFace, BadTensorsNameFileAndTensor) {
  testing::TempDir tmp;
  const std::string dir = hf_copy(tmp.path(), [](json&) {});
  const std::string weights = dir + "/model.safetensors";
  const TensorMap good = load_safetensors(hf_dir() + "/model.safetensors");
  const auto import_error = [&](const TensorMap& tensors) {
    save_safetensors(weights, tensors);
    return error_of<RuntimeError>([&] { import_hugging_face(dir, tmp.path() + "/out"); });
  };
  TensorMap renamed = good;
  renamed["transformer.h.0.mlp.c_fc.wieght"] = renamed.at("transformer.h.0.mlp.c_fc.weight");
  renamed.erase("transformer.h.0.mlp.c_fc.weight");
  EXPECT_EQ(import_error(renamed).rfind(weights + ": tensor transformer.h.0.mlp.c_fc.", 0), 0u);
  TensorMap reshaped = good;
  reshaped["transformer.h.1.attn.c_attn.weight"] = torch::zeros({96, 32});
  EXPECT_EQ(import_error(reshaped), weights + ": tensor transformer.h.1.attn.c_attn.weight: shape [96, 32] does not "
                                              "match the model's [32, 96]");
  TensorMap extra = good;
  extra["transformer.h.2.ln_1.weight"] = torch::ones({32});
  EXPECT_EQ(import_error(extra), weights + ": tensor transformer.h.2.ln_1.weight: unexpected");
  EXPECT_FALSE(fs::exists(tmp.path() + "/out/checkpoints"));  // nothing written on failure
}

TEST(HuggingFace, NeverOverwrites) {
  testing::TempDir tmp;
  import_hugging_face(hf_dir(), tmp.path() + "/run");
  const std::string again = error_of<UsageError>([&] { import_hugging_face(hf_dir(), tmp.path() + "/run"); });
  EXPECT_NE(again.find("already holds checkpoints"), std::string::npos) << again;
  export_hugging_face(tmp.path() + "/run", tmp.path() + "/hf", "");
  EXPECT_EQ(error_of<UsageError>([&] { export_hugging_face(tmp.path() + "/run", tmp.path() + "/hf", ""); }),
            tmp.path() + "/hf: already holds model.safetensors; choose another --out or remove it");
}

}  // namespace
}  // namespace cocomix
