// evaluate_sae: pooled reconstruction errors over validation windows;
// load_sae_with_teacher: both models and the checks that they belong together.
#include "cocomix/concept/sae_evaluation.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "cocomix/concept/sae_losses.h"
#include "cocomix/concept/teacher.h"
#include "cocomix/data/batch.h"
#include "cocomix/util/error.h"
#include "cocomix/util/log.h"
#include "cocomix/util/sha256.h"

namespace cocomix {

void check_sae_fits_teacher(const SaeInfo& info, const ModelConfig& teacher, const std::string& where) {
  if (info.d != teacher.n_embd)
    throw UsageError(where + ": SAE width d " + std::to_string(info.d) + " differs from the teacher's n_embd " +
                     std::to_string(teacher.n_embd));
  if (info.layer > teacher.n_layer)
    throw UsageError(where + ": SAE layer " + std::to_string(info.layer) + " exceeds the teacher's n_layer " +
                     std::to_string(teacher.n_layer));
}

SaeWithTeacher load_sae_with_teacher(const std::string& sae_dir, const std::string& teacher_dir, int64_t seq_len) {
  const std::string info_file = (std::filesystem::path(sae_dir) / "sae.json").string();
  if (!std::filesystem::is_regular_file(info_file))
    throw UsageError("--sae: " + info_file + ": no such file (not an SAE directory)");
  SaeWithTeacher loaded{load_sae(sae_dir), load_teacher(teacher_dir)};
  const auto& tc = loaded.teacher->config();
  check_sae_fits_teacher(loaded.sae->info(), tc, "--sae " + info_file + " with --teacher " + teacher_dir);
  if (seq_len > tc.n_positions)
    throw UsageError("--seq-len: " + std::to_string(seq_len) + " exceeds the teacher's n_positions " +
                     std::to_string(tc.n_positions));
  if (!loaded.sae->info().teacher_sha256.empty()) {
    const auto mismatch =
        teacher_mismatch(loaded.sae->info(), sha256_file_hex(teacher_weights_file(teacher_dir)), teacher_dir + "'s");
    if (!mismatch.empty()) log_warn(info_file + ": " + mismatch);
  }
  return loaded;
}

SaeEvaluation evaluate_sae(GPTImpl& teacher, TopKSaeImpl& sae, const TokenCorpus& corpus, int64_t seq_len, int64_t batch,
                           int64_t max_windows) {
  const auto& info = sae.info();
  const auto& tc = teacher.config();
  check_sae_fits_teacher(info, tc, "evaluate_sae");
  torch::NoGradGuard no_grad;
  NormalizedErrorSums normalized, teacher_space;
  auto fired = torch::zeros({info.n_latents}, torch::kBool);  // [C]
  SaeEvaluation result;
  result.windows = for_each_validation_batch(corpus, seq_len, max_windows, batch, tc.vocab_size, [&](const Batch& b) {
    const auto h = teacher.hidden_after(b.inputs, info.layer).reshape({-1, info.d});  // [N, d]
    const auto code = sae.encode(h);
    const auto x_hat = sae.decode_normalized(code.z);  // [N, d]
    normalized.add(x_hat, code.norm.x);
    teacher_space.add(code.norm.denormalize(x_hat), h);
    fired |= (code.z > kLatentFiredThreshold).any(0);
    result.tokens += h.size(0);
  });
  result.nmse = normalized.value();
  result.fvu = teacher_space.value();
  result.dead_fraction = 1.0 - fired.to(torch::kFloat64).mean().item<double>();
  return result;
}

}  // namespace cocomix
