// Distance kernels over sparse vectors (sparsevec): each operand is a list of
// strictly increasing 0-based indices with the non-zero value at each. The
// distances walk both lists in one merge, O(nnz_a + nnz_b), and accumulate in
// double precision. Plain scalar code: a merge is branchy and memory-bound,
// so SIMD buys little here. No Postgres headers.
#ifndef VECANN_KERNELS_SPARSE_H_
#define VECANN_KERNELS_SPARSE_H_

#include <cstddef>
#include <cstdint>

namespace vecann::kernels {

// A sparse operand: nnz indices (strictly increasing) and their values.
struct SparseView {
  const int32_t* indices;
  const float* values;
  size_t nnz;
};

// Dot product and both squared norms (for cosine distance).
struct SparseDotNorms {
  double dot;
  double norm_a;
  double norm_b;
};

double SparseSquaredL2(SparseView a, SparseView b);    // sum (a[i]-b[i])^2
double SparseInnerProduct(SparseView a, SparseView b); // sum a[i]*b[i]
double SparseL1(SparseView a, SparseView b);           // sum |a[i]-b[i]|
SparseDotNorms SparseDotAndNorms(SparseView a, SparseView b);
double SparseSquaredNorm(SparseView a);                // sum a[i]^2

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_SPARSE_H_
