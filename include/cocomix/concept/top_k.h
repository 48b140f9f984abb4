// The two top-k operations of CoCoMix (method spec §1-3): keeping the k largest
// entries of a vector (SAE encoder, student concept prediction) and choosing
// label indices with a deterministic tie rule (concept labels).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace cocomix {

/// `values` with all but the k largest entries of the last dimension set to 0;
/// the kept entries keep their sign and their gradient (the choice of indices
/// carries none). k must be in [1, size(-1)]. `kept`, when given, receives the
/// kept entries' indices [..., k] (in torch::topk's order).
torch::Tensor keep_top_k(const torch::Tensor& values, int64_t k, torch::Tensor* kept = nullptr);

/// For each row of scores [N, C]: the indices of the k largest scores, ordered
/// by score (descending), ties broken by the smaller index, both in choosing
/// which of several equal scores make the cut and in the order. Returns [N, k]
/// int64. (torch::topk leaves ties to the kernel; labels must not depend on it.)
torch::Tensor top_k_indices(const torch::Tensor& scores, int64_t k);

/// top_k_indices of sparse rows: row n of the dense [N, width] scores is 0
/// everywhere except values[n, j] at column indices[n, j] (indices [N, m] int64,
/// distinct within a row; values [N, m]). Returns exactly what top_k_indices
/// returns on the dense rows (the unlisted zeros compete too: when fewer than k
/// listed values are positive, the smallest-index zeros fill the places, listed
/// zeros included), without building them: only columns [0, k + m) and the
/// listed ones can be chosen. Returns [N, k] int64.
torch::Tensor top_k_indices_sparse(const torch::Tensor& indices, const torch::Tensor& values, int64_t width,
                                   int64_t k);

}  // namespace cocomix
