// Unit tests for the sparse-vector kernels (src/kernels/sparse.h): merge
// distances against the dense double reference on random sparse vectors of
// many densities, and the edge cases (empty operands, disjoint and identical
// supports).
#include "kernels/sparse.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels_reference.h"

namespace vecann::kernels {
namespace {

namespace ref = reference;

struct Sparse {
  std::vector<int32_t> indices;
  std::vector<float> values;
  SparseView view() const { return SparseView{indices.data(), values.data(), indices.size()}; }
  std::vector<double> dense(size_t dims) const {
    return ref::Densify(indices.data(), values.data(), indices.size(), dims);
  }
};

Sparse RandomSparse(size_t dims, double density, std::mt19937* rng) {
  std::bernoulli_distribution keep(density);
  std::uniform_real_distribution<float> value(-3.0f, 3.0f);
  Sparse s;
  for (size_t i = 0; i < dims; ++i) {
    if (!keep(*rng)) continue;
    float v = value(*rng);
    if (v == 0.0f) v = 1.0f;
    s.indices.push_back(static_cast<int32_t>(i));
    s.values.push_back(v);
  }
  return s;
}

void ExpectMatches(const Sparse& a, const Sparse& b, size_t dims) {
  const std::vector<double> x = a.dense(dims), y = b.dense(dims);
  double l2 = 0, ip = 0, l1 = 0, na = 0, nb = 0;
  for (size_t i = 0; i < dims; ++i) {
    l2 += (x[i] - y[i]) * (x[i] - y[i]);
    ip += x[i] * y[i];
    l1 += std::fabs(x[i] - y[i]);
    na += x[i] * x[i];
    nb += y[i] * y[i];
  }
  const double tol = 1e-12;
  EXPECT_NEAR(SparseSquaredL2(a.view(), b.view()), l2, tol * (1 + l2));
  EXPECT_NEAR(SparseInnerProduct(a.view(), b.view()), ip, tol * (1 + na + nb));
  EXPECT_NEAR(SparseL1(a.view(), b.view()), l1, tol * (1 + l1));
  const SparseDotNorms dn = SparseDotAndNorms(a.view(), b.view());
  EXPECT_NEAR(dn.dot, ip, tol * (1 + na + nb));
  EXPECT_NEAR(dn.norm_a, na, tol * (1 + na));
  EXPECT_NEAR(dn.norm_b, nb, tol * (1 + nb));
  EXPECT_NEAR(SparseSquaredNorm(a.view()), na, tol * (1 + na));
}

TEST(SparseKernels, MatchDenseReference) {
  std::mt19937 rng(21);
  for (size_t dims : {1u, 2u, 17u, 300u, 5000u}) {
    for (double da : {0.0, 0.01, 0.3, 1.0}) {
      for (double db : {0.0, 0.05, 0.5, 1.0}) {
        const Sparse a = RandomSparse(dims, da, &rng), b = RandomSparse(dims, db, &rng);
        ExpectMatches(a, b, dims);
        ExpectMatches(b, a, dims);
        ExpectMatches(a, a, dims);
      }
    }
  }
}

TEST(SparseKernels, EdgeCases) {
  const Sparse empty;
  const Sparse a{{0, 4, 9}, {1.0f, -2.0f, 3.0f}};
  const Sparse disjoint{{1, 5}, {4.0f, 5.0f}};
  EXPECT_EQ(SparseSquaredL2(empty.view(), empty.view()), 0.0);
  EXPECT_EQ(SparseSquaredL2(a.view(), empty.view()), 14.0);
  EXPECT_EQ(SparseSquaredL2(empty.view(), a.view()), 14.0);
  EXPECT_EQ(SparseSquaredL2(a.view(), a.view()), 0.0);
  EXPECT_EQ(SparseInnerProduct(a.view(), disjoint.view()), 0.0);
  EXPECT_EQ(SparseSquaredL2(a.view(), disjoint.view()), 14.0 + 41.0);
  EXPECT_EQ(SparseL1(a.view(), disjoint.view()), 6.0 + 9.0);
  EXPECT_EQ(SparseInnerProduct(a.view(), a.view()), 14.0);
  // Indices up to pgvector's 1e9 dimensions.
  const Sparse far{{999999999}, {2.0f}};
  const Sparse far2{{0, 999999999}, {1.0f, 3.0f}};
  EXPECT_EQ(SparseInnerProduct(far.view(), far2.view()), 6.0);
  EXPECT_EQ(SparseSquaredL2(far.view(), far2.view()), 2.0);
}

}  // namespace
}  // namespace vecann::kernels
