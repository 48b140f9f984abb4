// Post-TopK attribution labels computed only at the SAE's kept latents
// (decoder_dots + top_k_indices_sparse, what ConceptLabeler runs for
// "attribution") against the dense path (the [N, d] x [d, C] product, z, then
// top_k_indices, itself held to numpy's lexsort in cocomix_objective_test).
// Integer-valued inputs make every dot product exact in any summation order, so
// the two must agree bit for bit, exact ties, zeros and negatives included.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cocomix/concept/attribution.h"
#include "cocomix/concept/concept_labeler.h"
#include "cocomix/concept/top_k.h"

namespace cocomix {
namespace {

/// Rows of width C that are zero except at m distinct columns per row, with
/// small integer values in [-range, range] (many ties, zeros, negatives).
struct SparseRows {
  torch::Tensor indices;  // [N, m]
  torch::Tensor values;   // [N, m] float
  torch::Tensor dense;    // [N, C]
};

SparseRows sparse_rows(int64_t N, int64_t C, int64_t m, int64_t range, torch::Generator& gen) {
  SparseRows rows;
  rows.indices = torch::rand({N, C}, gen).argsort(/*dim=*/1, /*descending=*/false).narrow(1, 0, m).contiguous();  // distinct per row
  rows.values = torch::randint(-range, range + 1, {N, m}, gen, torch::kFloat32);
  rows.dense = torch::zeros({N, C}).scatter(1, rows.indices, rows.values);
  return rows;
}

TEST(SparseTopK, EqualsDenseTopKOnRowsWithTiesZerosAndNegatives) {
  auto gen = at::detail::createCPUGenerator(7);
  // (C, m, k): wide rows (the head/tail path), rows where k + m covers the width
  // (the dense fallback), and value ranges from all-ties to mostly distinct.
  for (const auto& [C, m, k] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {64, 8, 4}, {300, 32, 4}, {300, 32, 32}, {12, 8, 4}, {40, 32, 8}, {50, 3, 4}}) {
    for (const int64_t range : {0, 1, 2, 50}) {
      const auto rows = sparse_rows(400, C, m, range, gen);
      const auto dense = top_k_indices(rows.dense, k);
      const auto sparse = top_k_indices_sparse(rows.indices, rows.values, C, k);
      EXPECT_TRUE(torch::equal(sparse, dense)) << "C " << C << " m " << m << " k " << k << " range " << range;
    }
  }
}

TEST(SparseTopK, FewerPositivesThanPlacesTakeTheSmallestZeroColumns) {
  // Row: columns 1 and 5 listed with 0 and 3, column 0 listed with -2, width 10, k 4:
  // dense = [-2, 0, 0, 0, 0, 3, 0, 0, 0, 0] -> 5, then zeros 1, 2, 3 (column 0 is negative).
  const auto indices = torch::tensor({{1, 5, 0}}, torch::kInt64);
  const auto values = torch::tensor({{0.0f, 3.0f, -2.0f}});
  EXPECT_TRUE(torch::equal(top_k_indices_sparse(indices, values, 10, 4), torch::tensor({{5, 1, 2, 3}}, torch::kInt64)));
  // -0.0 ties with 0: listed -0.0 at column 2 is chosen in index order.
  const auto negative_zero = torch::tensor({{-0.0f, 1.0f}});
  EXPECT_TRUE(torch::equal(top_k_indices_sparse(torch::tensor({{2, 9}}, torch::kInt64), negative_zero, 20, 3),
                           torch::tensor({{9, 0, 1}}, torch::kInt64)));
}

TEST(SparseAttribution, DecoderDotsEqualTheDenseProductAtTheKeptColumns) {
  auto gen = at::detail::createCPUGenerator(3);
  const int64_t N = 5000, d = 24, C = 96, m = 6;  // N large enough for several row chunks of decoder_dots
  const auto g = torch::randn({N, d}, gen);
  const auto decoder = torch::randn({d, C}, gen);
  const auto kept = torch::rand({N, C}, gen).argsort(/*dim=*/1, /*descending=*/false).narrow(1, 0, m).contiguous();
  const auto expected = torch::matmul(g, decoder).gather(1, kept);
  const auto ours = decoder_dots(g, decoder.t().contiguous(), kept);
  EXPECT_LT((ours - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>());
}

TEST(SparseAttribution, LabelsEqualTheDensePathExactly) {
  auto gen = at::detail::createCPUGenerator(11);
  const int64_t N = 2000, d = 16, C = 128, k_sae = 8;
  for (const int64_t k_attr : {1, 4, 8}) {
    for (const int64_t range : {1, 3}) {
      // Integer g, W_dec and z_pre: exact products in any order. TopK then ReLU
      // as the SAE does, so some kept latents are 0; rows of g = 0 (the window's
      // last position) make every score 0.
      auto g = torch::randint(-range, range + 1, {N, d}, gen, torch::kFloat32);
      g.narrow(0, 0, 50).zero_();
      const auto decoder = torch::randint(-range, range + 1, {d, C}, gen, torch::kFloat32);
      const auto z_pre = torch::randint(-4, 5, {N, C}, gen, torch::kFloat32);
      torch::Tensor kept;
      const auto z = torch::relu(keep_top_k(z_pre, k_sae, &kept));
      const auto dense = top_k_indices(torch::matmul(g, decoder) * z, k_attr);
      const auto scores = decoder_dots(g, decoder.t().contiguous(), kept) * z.gather(1, kept);
      const auto sparse = top_k_indices_sparse(kept, scores, C, k_attr);
      EXPECT_TRUE(torch::equal(sparse, dense)) << "k_attr " << k_attr << " range " << range;
    }
  }
}

}  // namespace
}  // namespace cocomix
