// Merge-based distances between sparse vectors (see sparse.h).
#include "kernels/sparse.h"

#include <cmath>

namespace vecann::kernels {

double SparseSquaredL2(SparseView a, SparseView b) {
  double sum = 0.0;
  size_t i = 0, j = 0;
  while (i < a.nnz && j < b.nnz) {
    const int32_t ia = a.indices[i], ib = b.indices[j];
    double d;
    if (ia == ib) {
      d = static_cast<double>(a.values[i++]) - b.values[j++];
    } else if (ia < ib) {
      d = a.values[i++];
    } else {
      d = b.values[j++];
    }
    sum += d * d;
  }
  for (; i < a.nnz; ++i) sum += static_cast<double>(a.values[i]) * a.values[i];
  for (; j < b.nnz; ++j) sum += static_cast<double>(b.values[j]) * b.values[j];
  return sum;
}

double SparseInnerProduct(SparseView a, SparseView b) {
  double sum = 0.0;
  size_t i = 0, j = 0;
  while (i < a.nnz && j < b.nnz) {
    const int32_t ia = a.indices[i], ib = b.indices[j];
    if (ia == ib) {
      sum += static_cast<double>(a.values[i++]) * b.values[j++];
    } else if (ia < ib) {
      ++i;
    } else {
      ++j;
    }
  }
  return sum;
}

double SparseL1(SparseView a, SparseView b) {
  double sum = 0.0;
  size_t i = 0, j = 0;
  while (i < a.nnz && j < b.nnz) {
    const int32_t ia = a.indices[i], ib = b.indices[j];
    if (ia == ib) {
      sum += std::fabs(static_cast<double>(a.values[i++]) - b.values[j++]);
    } else if (ia < ib) {
      sum += std::fabs(static_cast<double>(a.values[i++]));
    } else {
      sum += std::fabs(static_cast<double>(b.values[j++]));
    }
  }
  for (; i < a.nnz; ++i) sum += std::fabs(static_cast<double>(a.values[i]));
  for (; j < b.nnz; ++j) sum += std::fabs(static_cast<double>(b.values[j]));
  return sum;
}

double SparseSquaredNorm(SparseView a) {
  double sum = 0.0;
  for (size_t i = 0; i < a.nnz; ++i) sum += static_cast<double>(a.values[i]) * a.values[i];
  return sum;
}

SparseDotNorms SparseDotAndNorms(SparseView a, SparseView b) {
  return SparseDotNorms{SparseInnerProduct(a, b), SparseSquaredNorm(a), SparseSquaredNorm(b)};
}

}  // namespace vecann::kernels
