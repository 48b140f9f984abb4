// Config loading: defaults, strict key/type checks, validation messages, --set.
#include "cocomix/config/config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cocomix/util/error.h"

namespace cocomix {
namespace {

using json = nlohmann::json;

std::string error_of(const json& document) {
  try {
    config_from_json(document, "c.json");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreGpt2Small) {
  const auto config = config_from_json(json::object(), "c.json");
  EXPECT_EQ(config.model.n_embd, 768);
  EXPECT_EQ(config.model.n_layer, 12);
  EXPECT_EQ(config.model.vocab_size, 50257);
  EXPECT_DOUBLE_EQ(config.optim.beta2, 0.95);
  EXPECT_TRUE(config.optim.decay_all_params);
  EXPECT_TRUE(config.train.tf32);  // TF32 for CUDA fp32 matmuls, the teacher's included
  EXPECT_EQ(config.concepts.teacher_precision, "tf32");
}

TEST(Config, RejectsUnknownKeyWithPath) {
  EXPECT_EQ(error_of({{"optim", {{"learning_rate", 1e-3}}}}), "c.json: optim.learning_rate: unknown key");
  EXPECT_EQ(error_of({{"optimizer", json::object()}}),
            "c.json: optimizer: unknown section (expected model, data, optim, train, eval, log, concept, dist)");
}

TEST(Config, DistSection) {
  const auto config = config_from_json({{"dist", {{"timeout_seconds", 30}, {"bucket_mb", 4}}}}, "c.json");
  EXPECT_EQ(config.dist.backend, "auto");
  EXPECT_EQ(config.dist.timeout_seconds, 30);
  EXPECT_EQ(config.dist.bucket_mb, 4);
  EXPECT_EQ(config.dist.first_bucket_mb, 1);
  EXPECT_EQ(error_of({{"dist", {{"backend", "mpi"}}}}),
            "c.json: dist.backend: must be \"auto\", \"gloo\" or \"nccl\", got \"mpi\"");
  EXPECT_EQ(error_of({{"dist", {{"backend", "nccl"}}}}),
            "c.json: dist.backend: \"nccl\" needs train.device \"cuda\" (use \"gloo\" or \"auto\" on CPU)");
  EXPECT_EQ(error_of({{"dist", {{"backend", "gloo"}}}, {"train", {{"device", "cuda"}}}}),
            "c.json: dist.backend: \"gloo\" is the CPU backend; with train.device \"cuda\" use \"nccl\" or \"auto\"");
  EXPECT_EQ(error_of({{"dist", {{"timeout_seconds", 0}}}}), "c.json: dist.timeout_seconds: must be positive, got 0");
  EXPECT_EQ(error_of({{"dist", {{"bucket_mb", -1}}}}), "c.json: dist.bucket_mb: must be positive, got -1");
  EXPECT_EQ(error_of({{"dist", {{"first_bucket_mb", 0}}}}), "c.json: dist.first_bucket_mb: must be positive, got 0");
}

TEST(Config, RejectsWrongTypes) {
  EXPECT_EQ(error_of({{"model", {{"n_layer", "8"}}}}), "c.json: model.n_layer: expected an integer, got string \"8\"");
  EXPECT_EQ(error_of({{"model", {{"n_layer", 2.5}}}}), "c.json: model.n_layer: expected an integer, got number 2.5");
  EXPECT_EQ(error_of({{"train", {{"seed", -1}}}}),
            "c.json: train.seed: expected a non-negative integer, got number -1");
  EXPECT_EQ(error_of({{"log", {{"tensorboard", 1}}}}), "c.json: log.tensorboard: expected true or false, got number 1");
}

TEST(Config, RejectsImpossibleValues) {
  EXPECT_EQ(error_of({{"model", {{"n_embd", 100}, {"n_head", 7}}}}),
            "c.json: model.n_head: 7 heads do not divide model.n_embd = 100");
  EXPECT_EQ(error_of({{"train", {{"batch_size", 0}}}}), "c.json: train.batch_size: must be positive, got 0");
  EXPECT_EQ(error_of({{"model", {{"n_layer", -3}}}}), "c.json: model.n_layer: must be positive, got -3");
  EXPECT_EQ(error_of({{"data", {{"seq_len", 2048}}}}), "c.json: data.seq_len: 2048 exceeds model.n_positions = 1024");
  EXPECT_EQ(error_of({{"optim", {{"lr", 1e-4}, {"min_lr", 1e-3}}}}),
            "c.json: optim.min_lr: must be in [0, optim.lr], got 0.001");
  EXPECT_EQ(error_of({{"concept", {{"mode", "kd"}, {"teacher_path", "t"}, {"teacher_precision", "fp16"}}}}),
            "c.json: concept.teacher_precision: must be \"fp32\", \"tf32\" or \"bf16\", got \"fp16\"");
  EXPECT_EQ(error_of({{"train", {{"tf32", "yes"}}}}).rfind("c.json: train.tf32: ", 0), 0u);
}

TEST(Config, HiddenPredictionFields) {
  const json good = {{"model", {{"n_layer", 4}, {"n_embd", 64}, {"n_head", 4}}},
                     {"concept",
                      {{"mode", "hidden_prediction"},
                       {"teacher_path", "t"},
                       {"teacher_layer", 6},
                       {"teacher_n_embd", 768},
                       {"insert_layer", 1}}}};
  const auto config = config_from_json(good, "c.json");
  EXPECT_EQ(config.concepts.hidden_loss, HiddenLoss::kL2);
  EXPECT_EQ(config.concepts.hidden_width(config.model.n_embd), 256);  // 0 = 4·n_embd
  const auto with = [&](const json& concept_fields) {
    json document = good;
    document["concept"].update(concept_fields);
    return error_of(document);
  };
  EXPECT_EQ(with({{"teacher_layer", 0}}),
            "c.json: concept.teacher_layer: mode \"hidden_prediction\" needs the teacher block L_t whose output is "
            "the target (1 = the first), got 0");
  EXPECT_EQ(with({{"teacher_n_embd", 0}}),
            "c.json: concept.teacher_n_embd: mode \"hidden_prediction\" needs the teacher's width d_t (its n_embd, "
            "768 for GPT-2 small), got 0");
  EXPECT_EQ(with({{"hidden_loss", "huber"}}),
            "c.json: concept.hidden_loss: must be \"l1\", \"l2\" or \"cosine\", got \"huber\"");
  EXPECT_EQ(with({{"hidden_mlp_width", -1}}),
            "c.json: concept.hidden_mlp_width: must be >= 0 (0 = 4·model.n_embd), got -1");
  EXPECT_EQ(with({{"teacher_path", ""}}),
            "c.json: concept.teacher_path: mode \"hidden_prediction\" needs a teacher directory");
  EXPECT_EQ(with({{"sae_path", "sae"}}),
            "c.json: concept.sae_path: mode \"hidden_prediction\" uses no SAE (L_t is concept.teacher_layer); "
            "remove it");
  EXPECT_EQ(with({{"label_cache", "labels"}}),
            "c.json: concept.label_cache: mode \"hidden_prediction\" has no concept labels to read from a cache");
  EXPECT_EQ(with({{"mode", "kd"}}),
            "c.json: concept.teacher_layer: only mode \"hidden_prediction\" reads it, not \"kd\" (the concept "
            "modes take L_t from the SAE's sae.json)");
}

TEST(Config, OverridesKeepJsonTypes) {
  json document = json::object();
  apply_override(document, "optim.lr=3e-4", "c.json");
  apply_override(document, "train.precision=fp32", "c.json");
  apply_override(document, "log.tensorboard=false", "c.json");
  const auto config = config_from_json(document, "c.json");
  EXPECT_DOUBLE_EQ(config.optim.lr, 3e-4);
  EXPECT_EQ(config.train.precision, "fp32");
  EXPECT_FALSE(config.log.tensorboard);
  EXPECT_THROW(apply_override(document, "lr=3", "c.json"), UsageError);
  EXPECT_THROW(apply_override(document, "optim.lr", "c.json"), UsageError);
}

TEST(Config, RoundTripsThroughJson) {
  json document = {{"model", {{"n_embd", 64}, {"n_head", 4}, {"n_layer", 2}}}, {"train", {{"seed", 7}}}};
  const auto config = config_from_json(document, "c.json");
  const auto again = config_from_json(config_to_json(config), "c.json");
  EXPECT_EQ(config_to_json(config), config_to_json(again));
  EXPECT_EQ(again.train.seed, 7u);
}

TEST(ModeTable, EveryRowIsFoundByItsModeAndItsName) {
  for (const auto& row : mode_table()) {
    EXPECT_EQ(&mode_spec(row.mode), &row) << row.name;
    EXPECT_EQ(find_mode(row.name), &row) << row.name;
  }
  EXPECT_EQ(mode_table().size(), 9u);
  EXPECT_EQ(find_mode("cocomix_v2"), nullptr);
}

}  // namespace
}  // namespace cocomix
