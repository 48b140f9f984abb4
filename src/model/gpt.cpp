// GPT-2 forward pass and initialisation, mirroring Hugging Face's modeling_gpt2
// (Conv1D [in, out] weights, pre-LN blocks, SDPA causal attention, tied head) and
// nanoGPT's split of the qkv projection by views rather than copies.
#include "cocomix/model/gpt.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>

#include <cmath>
#include <string>

#include "cocomix/model/block_checkpoint.h"
#include "cocomix/model/gelu.h"
#include "cocomix/util/cpu_features.h"
#include "cocomix/util/error.h"

namespace cocomix {
namespace {

// Dropout that costs nothing when p == 0 or the module is in eval mode.
torch::Tensor maybe_dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  return torch::dropout(x, p, /*train=*/true);
}

// The std of the residual projections (GPT-2 paper: 1/sqrt(N) per residual path, two per block).
double residual_std(const ModelConfig& config) {
  return config.init_std / std::sqrt(2.0 * static_cast<double>(config.n_layer));
}

torch::nn::LayerNorm make_layer_norm(const ModelConfig& config) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.n_embd}).eps(config.layer_norm_epsilon));
}

/// Causal SDPA. Under CPU bf16 autocast on a CPU without AMX the attention runs
/// in fp32 from the bf16 q, k, v: there ATen's bf16 flash-attention backward is
/// ~3x slower than its fp32 one (docs/benchmarks.md), and fp32 is the more
/// accurate of the two. With AMX, and on CUDA, it stays in bf16 as autocast says.
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double p) {
  if (q.device().is_cpu() && at::autocast::is_autocast_enabled(c10::DeviceType::CPU) && !cpu_has_amx_bf16()) {
    const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    return at::scaled_dot_product_attention(q.to(torch::kFloat32), k.to(torch::kFloat32), v.to(torch::kFloat32), {}, p,
                                            /*is_causal=*/true);
  }
  return at::scaled_dot_product_attention(q, k, v, {}, p, /*is_causal=*/true);
}

}  // namespace

Conv1DImpl::Conv1DImpl(int64_t in_features, int64_t out_features, double init_std) {
  weight = register_parameter("weight", torch::empty({in_features, out_features}));  // [in, out]
  bias = register_parameter("bias", torch::zeros({out_features}));                   // [out]
  torch::NoGradGuard no_grad;
  weight.normal_(0.0, init_std);
}

torch::Tensor Conv1DImpl::forward(const torch::Tensor& x) {
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = weight.size(1);
  // [N, in] @ [in, out] + [out] -> [N, out], N = prod(leading dims)
  return torch::addmm(bias, x.reshape({-1, weight.size(0)}), weight).view(out_sizes);
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const ModelConfig& config)
    : n_head_(config.n_head), dropout_(config.dropout) {
  c_attn = register_module("c_attn", Conv1D(config.n_embd, 3 * config.n_embd, config.init_std));
  c_proj = register_module("c_proj", Conv1D(config.n_embd, config.n_embd, residual_std(config)));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, AttentionCache* cache) {
  const int64_t B = x.size(0), S = x.size(1), d = x.size(2);
  const int64_t hs = d / n_head_;
  const auto qkv = c_attn(x).split(d, /*dim=*/2);                   // 3 x [B, S, d] (strided views)
  const auto q = qkv[0].view({B, S, n_head_, hs}).transpose(1, 2);  // [B, nh, S, hs]
  auto k = qkv[1].view({B, S, n_head_, hs}).transpose(1, 2);        // [B, nh, S, hs]
  auto v = qkv[2].view({B, S, n_head_, hs}).transpose(1, 2);        // [B, nh, S, hs]
  const double p = is_training() ? dropout_ : 0.0;
  torch::Tensor y;
  const int64_t seen = cache != nullptr ? cache->size() : 0;
  if (cache != nullptr) {
    k = seen > 0 ? torch::cat({cache->k, k}, 2) : k.contiguous();  // [B, nh, P+S, hs]
    v = seen > 0 ? torch::cat({cache->v, v}, 2) : v.contiguous();
    cache->k = k;
    cache->v = v;
  }
  if (cache != nullptr && cache->leading_padding.defined()) {
    // Query P+i sees keys lead..P+i of its row, and itself whatever it is (a padding row stays finite).
    const auto rows = torch::arange(S, q.options().dtype(torch::kLong)).view({1, S, 1}) + seen;  // [1, S, 1]
    const auto cols = torch::arange(seen + S, q.options().dtype(torch::kLong)).view({1, 1, -1});  // [1, 1, P+S]
    const auto lead = cache->leading_padding.view({B, 1, 1});
    const auto visible = ((cols <= rows) & (cols >= lead)) | (cols == rows);  // [B, S, P+S]
    y = at::scaled_dot_product_attention(q, k, v, visible.unsqueeze(1), p);    // [B, nh, S, hs]
  } else if (seen == 0) {
    y = causal_attention(q, k, v, p);  // [B, nh, S, hs]
  } else if (S == 1) {
    y = at::scaled_dot_product_attention(q, k, v, {}, p);  // one new position sees every key: no mask
  } else {
    // Query P+i sees keys 0..P+i: a causal mask shifted by the cached length.
    const auto rows = torch::arange(S, q.options().dtype(torch::kLong)).unsqueeze(1) + seen;  // [S, 1]
    const auto cols = torch::arange(seen + S, q.options().dtype(torch::kLong)).unsqueeze(0);  // [1, P+S]
    y = at::scaled_dot_product_attention(q, k, v, cols <= rows, p);                          // [B, nh, S, hs]
  }
  y = y.transpose(1, 2).reshape({B, S, d});  // [B, S, d]
  return maybe_dropout(c_proj(y), dropout_, is_training());
}

MLPImpl::MLPImpl(const ModelConfig& config) : dropout_(config.dropout) {
  c_fc = register_module("c_fc", Conv1D(config.n_embd, 4 * config.n_embd, config.init_std));
  c_proj = register_module("c_proj", Conv1D(4 * config.n_embd, config.n_embd, residual_std(config)));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  const auto hidden = gelu_tanh(c_fc(x));  // [B, S, 4d]
  return maybe_dropout(c_proj(hidden), dropout_, is_training());
}

BlockImpl::BlockImpl(const ModelConfig& config) {
  ln_1 = register_module("ln_1", make_layer_norm(config));
  attn = register_module("attn", CausalSelfAttention(config));
  ln_2 = register_module("ln_2", make_layer_norm(config));
  mlp = register_module("mlp", MLP(config));
}

torch::Tensor BlockImpl::forward(torch::Tensor x, AttentionCache* cache) {
  x = x + attn(ln_1(x), cache);
  return x + mlp(ln_2(x));
}

TransformerImpl::TransformerImpl(const ModelConfig& config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocab_size, config.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(config.n_positions, config.n_embd));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t layer = 0; layer < config.n_layer; ++layer) h->push_back(Block(config));
  ln_f = register_module("ln_f", make_layer_norm(config));
  torch::NoGradGuard no_grad;
  wte->weight.normal_(0.0, config.init_std);
  wpe->weight.normal_(0.0, config.init_std);
}

GPTImpl::GPTImpl(const ModelConfig& config) : config_(config) {
  transformer = register_module("transformer", Transformer(config));
}

torch::Tensor GPTImpl::embed(const torch::Tensor& idx, int64_t start) {
  const int64_t T = idx.size(-1);
  if (start + T > config_.n_positions) {
    throw RuntimeError("GPT.embed: sequence length T = " + std::to_string(start + T) +
                       " exceeds model.n_positions = " + std::to_string(config_.n_positions));
  }
  const auto positions = torch::arange(start, start + T, idx.options().dtype(torch::kLong));  // [T]
  const auto h = transformer->wte(idx) + transformer->wpe(positions);          // [B, T, d]
  return maybe_dropout(h, config_.dropout, is_training());
}

torch::Tensor GPTImpl::embed(const torch::Tensor& idx, const torch::Tensor& positions) {
  const auto h = transformer->wte(idx) + transformer->wpe(positions);  // [B, T, d]
  return maybe_dropout(h, config_.dropout, is_training());
}

torch::Tensor GPTImpl::run_blocks(torch::Tensor h, int64_t begin, int64_t end, KVCache* cache) {
  if (begin < 0 || begin > end || end > config_.n_layer) {
    throw UsageError("GPT.run_blocks: block range [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") is not inside [0, " + std::to_string(config_.n_layer) + "]");
  }
  const bool checkpointing = checkpoint_every_ > 0 && cache == nullptr && torch::GradMode::is_enabled();
  for (int64_t layer = begin; layer < end; ++layer) {
    auto& block = transformer->h->at<BlockImpl>(static_cast<size_t>(layer));
    if (checkpointing && layer % checkpoint_every_ == 0) {
      h = run_block_checkpointed(block, h);  // [B, S, d]
      continue;
    }
    AttentionCache* block_cache = cache != nullptr ? &cache->at(static_cast<size_t>(layer)) : nullptr;
    h = block.forward(h, block_cache);  // [B, S, d]
  }
  return h;
}

void GPTImpl::set_activation_checkpointing(int64_t every) {
  if (every < 0) throw UsageError("GPT.set_activation_checkpointing: every must be >= 0, got " + std::to_string(every));
  checkpoint_every_ = every;
}

torch::Tensor GPTImpl::final_norm(const torch::Tensor& h) { return transformer->ln_f(h); }

torch::Tensor GPTImpl::unembedding() const { return transformer->wte->weight; }

torch::Tensor GPTImpl::head(const torch::Tensor& h) {
  return torch::linear(final_norm(h), unembedding());  // [B, S, V]
}

torch::Tensor GPTImpl::forward(const torch::Tensor& idx) { return head(run_blocks(embed(idx), 0, config_.n_layer)); }

torch::Tensor GPTImpl::hidden_after(const torch::Tensor& idx, int64_t layer) {
  if (layer < 0 || layer > config_.n_layer) {
    throw UsageError("GPT.hidden_after: layer " + std::to_string(layer) + " is not in [0, " +
                     std::to_string(config_.n_layer) + "]");
  }
  return run_blocks(embed(idx), 0, layer);
}

const ModelConfig& GPTImpl::config() const { return config_; }

}  // namespace cocomix
