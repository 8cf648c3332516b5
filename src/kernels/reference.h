// Plain scalar double-precision reference versions of the distance kernels in
// distance.h, used as ground truth by the unit tests and as the baseline in the
// micro-benchmarks. Header-only, no SIMD, no Postgres.
#ifndef VECANN_KERNELS_REFERENCE_H_
#define VECANN_KERNELS_REFERENCE_H_

#include <cmath>
#include <cstddef>

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

}  // namespace vecann::kernels::reference

#endif  // VECANN_KERNELS_REFERENCE_H_
