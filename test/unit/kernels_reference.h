// Plain scalar double-precision reference versions of the distance kernels in
// distance.h (and of the half, bit and sparse kernels in half.h, bits.h,
// sparse.h), used as ground truth by the unit tests and as the baseline in the
// micro-benchmarks. Header-only, no SIMD, no Postgres.
#ifndef VECANN_TEST_UNIT_KERNELS_REFERENCE_H_
#define VECANN_TEST_UNIT_KERNELS_REFERENCE_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/half_convert.h"

namespace vecann::kernels::reference {

// sum (a[i]-b[i])^2, each term and the sum in double.
inline double SquaredL2(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    sum += d * d;
  }
  return sum;
}

// sum a[i]*b[i].
inline double InnerProduct(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  }
  return sum;
}

// sum |a[i]-b[i]|.
inline double L1(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    sum += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
  }
  return sum;
}

// Dot product and both squared norms, in double (counterpart of
// kernels::DotNorms).
struct DotNormsResult {
  double dot = 0.0;
  double norm_a = 0.0;
  double norm_b = 0.0;
};

inline DotNormsResult DotNorms(const float* a, const float* b, size_t n) {
  DotNormsResult r;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i];
    const double y = b[i];
    r.dot += x * y;
    r.norm_a += x * x;
    r.norm_b += y * y;
  }
  return r;
}

// ---- half precision: the float references on the exactly widened values ----

inline std::vector<float> WidenHalves(const uint16_t* a, size_t n) {
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = HalfToFloat(a[i]);
  return out;
}

inline double HalfSquaredL2(const uint16_t* a, const uint16_t* b, size_t n) {
  return SquaredL2(WidenHalves(a, n).data(), WidenHalves(b, n).data(), n);
}
inline double HalfInnerProduct(const uint16_t* a, const uint16_t* b, size_t n) {
  return InnerProduct(WidenHalves(a, n).data(), WidenHalves(b, n).data(), n);
}
inline double HalfL1(const uint16_t* a, const uint16_t* b, size_t n) {
  return L1(WidenHalves(a, n).data(), WidenHalves(b, n).data(), n);
}
inline DotNormsResult HalfDotNorms(const uint16_t* a, const uint16_t* b, size_t n) {
  return DotNorms(WidenHalves(a, n).data(), WidenHalves(b, n).data(), n);
}

// ---- bit strings: one bit at a time -------------------------------------------

inline bool BitAt(const uint8_t* a, size_t bit) { return (a[bit / 8] >> (7 - bit % 8)) & 1u; }

inline uint64_t Hamming(const uint8_t* a, const uint8_t* b, size_t nbytes) {
  uint64_t count = 0;
  for (size_t k = 0; k < nbytes * 8; ++k) count += BitAt(a, k) != BitAt(b, k);
  return count;
}
inline uint64_t AndCount(const uint8_t* a, const uint8_t* b, size_t nbytes) {
  uint64_t count = 0;
  for (size_t k = 0; k < nbytes * 8; ++k) count += BitAt(a, k) && BitAt(b, k);
  return count;
}
inline uint64_t OrCount(const uint8_t* a, const uint8_t* b, size_t nbytes) {
  uint64_t count = 0;
  for (size_t k = 0; k < nbytes * 8; ++k) count += BitAt(a, k) || BitAt(b, k);
  return count;
}

// ---- sparse vectors: expanded to dense doubles ----------------------------------

inline std::vector<double> Densify(const int32_t* indices, const float* values, size_t nnz, size_t dims) {
  std::vector<double> out(dims, 0.0);
  for (size_t i = 0; i < nnz; ++i) out[static_cast<size_t>(indices[i])] = values[i];
  return out;
}

}  // namespace vecann::kernels::reference

#endif  // VECANN_TEST_UNIT_KERNELS_REFERENCE_H_
