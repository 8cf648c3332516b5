// Lower bounds of true distances from distances to quantized codes (the keys
// an index scan over f16, bf16 and i8 codes orders rows by; the executor
// rechecks each row with the operator's true distance and stops with "index
// returned tuples in wrong order" if a key exceeds it, so every margin errs
// low). Header-only, no Postgres headers.
//
// For a row x stored as a code with reconstruction x^, err = ||x - x^|| (in
// the L1 norm for L1 indexes, else L2; never an underestimate) and norm =
// ||x||_2, with the code distance d computed by a float kernel:
//   L2      ||q - x|| >= ||q - x^|| - ||x - x^||         (triangle inequality;
//           d is the squared distance)
//   L1      the same in the L1 norm
//   cosine  1 - <q, x> >= 1 - <q, x^> - ||x - x^||      (unit q and x; d = -<q, x^>)
//   inner   -<q, x> >= -<q, x^> - ||q|| ||x - x^||       (Cauchy-Schwarz; d = -<q, x^>)
// Float sums of n terms are off by at most about n * 2^-24 of the sum of the
// terms' magnitudes, both in d and where the executor computes the true
// distance; the margin g below covers both twice over. Where d, err or norm
// is not finite (values near FLT_MAX overflow the float sum, while the
// operator then sums in double) only the trivial bound holds.
#ifndef VECANN_KERNELS_LOWER_BOUND_H_
#define VECANN_KERNELS_LOWER_BOUND_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace vecann::kernels {

enum class BoundMetric { kL2, kL1, kCosine, kInnerProduct };

// The bound, in the operator's units (L2: the distance, not its square;
// cosine: 1 - cos). `query_values` is the number of float values the
// kernel summed over; `query_norm` is ||q||_2 (used by kInnerProduct only).
inline double DistanceLowerBound(BoundMetric metric, float distance, float error, float code_norm,
                                 size_t query_values, double query_norm) {
  const double u = std::ldexp(1.0, -24);
  const double g = 2.0 * (static_cast<double>(query_values) + 8) * u;
  const double d = distance, err = error, norm = code_norm;
  const double minus_inf = -std::numeric_limits<double>::infinity();
  if (!std::isfinite(d) || !std::isfinite(err) || !std::isfinite(norm)) {
    return metric == BoundMetric::kInnerProduct ? minus_inf : 0.0;
  }
  switch (metric) {
    case BoundMetric::kL2: {
      double l2 = std::sqrt(std::max(0.0, d * (1 - g))) - err;
      return std::max(0.0, l2) * (1 - g);
    }
    case BoundMetric::kL1:
      return std::max(0.0, d * (1 - g) - err) * (1 - g);
    case BoundMetric::kCosine:
      return 1.0 + d - err - 4 * g * (1 + err) - 8 * u;
    case BoundMetric::kInnerProduct: {
      double slack = query_norm > 0 ? query_norm * (err + g * (2 * norm + err + 1)) : 0.0;
      double lb = d - slack - 8 * u;
      return std::isnan(lb) ? minus_inf : lb;
    }
  }
  return minus_inf;
}

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_LOWER_BOUND_H_
