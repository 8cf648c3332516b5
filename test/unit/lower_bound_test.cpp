// Property tests of the scan's lower bounds (src/kernels/lower_bound.h): for
// random vectors of many lengths and scales, encoded in every format whose
// scan orders by a bound (f16, bf16, i8), the bound from the code distance
// (as the best kernel computes it) never exceeds the true distance, computed
// both as the float kernels compute it on the original vectors and exactly in
// double; and it is tight enough to order rows (within a few code errors of
// the true distance). Non-finite inputs give the trivial bound.
#include "kernels/lower_bound.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/distance.h"
#include "kernels/quantize.h"

namespace vecann::kernels {
namespace {

constexpr CodeFormat kBoundFormats[] = {CodeFormat::kF16, CodeFormat::kBF16, CodeFormat::kI8};
constexpr BoundMetric kMetrics[] = {BoundMetric::kL2, BoundMetric::kL1, BoundMetric::kCosine,
                                    BoundMetric::kInnerProduct};

const char* Name(BoundMetric m) {
  switch (m) {
    case BoundMetric::kL2:
      return "l2";
    case BoundMetric::kL1:
      return "l1";
    case BoundMetric::kCosine:
      return "cosine";
    case BoundMetric::kInnerProduct:
      return "ip";
  }
  return "?";
}

void Normalize(std::vector<float>* v) {
  double s = 0;
  for (float x : *v) s += static_cast<double>(x) * x;
  s = std::sqrt(s);
  if (s > 0) {
    for (float& x : *v) x = static_cast<float>(x / s);
  }
}

// The true distance in the operator's units, exactly (double).
double ExactDistance(BoundMetric m, const std::vector<float>& q, const std::vector<float>& x) {
  double acc = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    double a = q[i], b = x[i];
    switch (m) {
      case BoundMetric::kL2:
        acc += (a - b) * (a - b);
        break;
      case BoundMetric::kL1:
        acc += std::fabs(a - b);
        break;
      case BoundMetric::kCosine:
      case BoundMetric::kInnerProduct:
        acc -= a * b;
        break;
    }
  }
  if (m == BoundMetric::kL2) return std::sqrt(acc);
  if (m == BoundMetric::kCosine) return 1.0 + acc;
  return acc;
}

// The true distance as the float32 kernels compute it (what the operator
// returns while the float sum is finite).
double FloatDistance(BoundMetric m, const std::vector<float>& q, const std::vector<float>& x) {
  const KernelTable& k = Kernels();
  switch (m) {
    case BoundMetric::kL2:
      return std::sqrt(static_cast<double>(k.squared_l2(q.data(), x.data(), q.size())));
    case BoundMetric::kL1:
      return k.l1(q.data(), x.data(), q.size());
    case BoundMetric::kCosine:
      return 1.0 + static_cast<double>(k.neg_inner_product(q.data(), x.data(), q.size()));
    case BoundMetric::kInnerProduct:
      return k.neg_inner_product(q.data(), x.data(), q.size());
  }
  return 0;
}

float CodeDistance(BoundMetric m, const CodeKernelTable& k, const std::vector<float>& q, const float* code) {
  switch (m) {
    case BoundMetric::kL2:
      return k.squared_l2(q.data(), code, q.size());
    case BoundMetric::kL1:
      return k.l1(q.data(), code, q.size());
    case BoundMetric::kCosine:
    case BoundMetric::kInnerProduct:
      return k.neg_inner_product(q.data(), code, q.size());
  }
  return 0;
}

TEST(LowerBound, NeverAboveTheTrueDistanceAndTight) {
  std::mt19937_64 rng(20261201);
  const size_t lengths[] = {1, 2, 3, 7, 16, 31, 96, 128, 300, 784, 1100};
  const double scales[] = {1e-3, 1.0, 100.0, 1e6};
  int checked = 0;
  for (CodeFormat format : kBoundFormats) {
    for (BoundMetric metric : kMetrics) {
      for (size_t dims : lengths) {
        for (double scale : scales) {
          std::normal_distribution<float> val(0.0f, static_cast<float>(scale));
          for (int trial = 0; trial < 6; ++trial) {
            std::vector<float> x(dims), q(dims);
            for (auto& v : x) v = val(rng);
            // Half the queries near the row (the bound matters most there).
            for (size_t i = 0; i < dims; ++i) q[i] = trial % 2 ? x[i] + 0.01f * val(rng) : val(rng);
            if (metric == BoundMetric::kCosine) {
              Normalize(&x);
              Normalize(&q);
            }
            std::vector<float> code(CodeBytes(format, dims) / sizeof(float));
            Encode(format, x.data(), dims, metric == BoundMetric::kL1 ? ErrorNorm::kL1 : ErrorNorm::kL2, code.data());
            double qnorm = 0;
            for (float v : q) qnorm += static_cast<double>(v) * v;
            qnorm = std::sqrt(qnorm);
            for (const CodeKernelTable& k : AllRunnableCodeTargets(format)) {
              float d = CodeDistance(metric, k, q, code.data());
              float err = CodeError(format, code.data()), norm = CodeNorm(format, code.data());
              double lb = DistanceLowerBound(metric, d, err, norm, dims, qnorm);
              double exact = ExactDistance(metric, q, x), fl = FloatDistance(metric, q, x);
              ASSERT_LE(lb, exact) << CodeFormatName(format) << " " << Name(metric) << " dims " << dims
                                   << " scale " << scale << " target " << k.target;
              ASSERT_LE(lb, fl) << CodeFormatName(format) << " " << Name(metric) << " dims " << dims
                                << " scale " << scale << " target " << k.target;
              // Tight: within the code's error (scaled by ||q|| for inner
              // products) plus the documented float margin g, a few times.
              const double g = 2.0 * (dims + 8) * std::ldexp(1.0, -24);
              const double scale_ip = metric == BoundMetric::kInnerProduct ? qnorm : 1.0;
              double slack = scale_ip * 2.5 * err + 8 * g * (std::fabs(exact) + 1.0) * (scale_ip + norm + 1);
              ASSERT_GE(lb, exact - slack) << CodeFormatName(format) << " " << Name(metric) << " dims " << dims
                                           << " scale " << scale << " target " << k.target;
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 3 * 4 * 11 * 4 * 6 - 1);
}

TEST(LowerBound, FloatMarginHoldsForExactCodes) {
  // Values f16 holds exactly (multiples of 1/64 in [-8, 8)): err = 0, so
  // only the float rounding margin keeps the bound below the true distance.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> steps(-512, 511);
  const BoundMetric metrics[] = {BoundMetric::kL2, BoundMetric::kL1, BoundMetric::kInnerProduct};
  int exact_codes = 0;
  for (BoundMetric metric : metrics) {
    for (size_t dims : {300, 784, 1100, 1988}) {
      for (int trial = 0; trial < 200; ++trial) {
        std::vector<float> x(dims), q(dims);
        for (auto& v : x) v = steps(rng) / 64.0f;
        for (size_t i = 0; i < dims; ++i) q[i] = x[i] + steps(rng) / 4096.0f + 1e-3f / 3;
        std::vector<float> code(CodeBytes(CodeFormat::kF16, dims) / sizeof(float));
        Encode(CodeFormat::kF16, x.data(), dims, metric == BoundMetric::kL1 ? ErrorNorm::kL1 : ErrorNorm::kL2,
               code.data());
        float err = CodeError(CodeFormat::kF16, code.data());
        exact_codes += err == 0.0f;
        double qnorm = 0;
        for (float v : q) qnorm += static_cast<double>(v) * v;
        qnorm = std::sqrt(qnorm);
        const CodeKernelTable& k = CodeKernels(CodeFormat::kF16);
        double lb = DistanceLowerBound(metric, CodeDistance(metric, k, q, code.data()), err,
                                       CodeNorm(CodeFormat::kF16, code.data()), dims, qnorm);
        ASSERT_LE(lb, ExactDistance(metric, q, x)) << Name(metric) << " dims " << dims;
        ASSERT_LE(lb, FloatDistance(metric, q, x)) << Name(metric) << " dims " << dims;
      }
    }
  }
  EXPECT_EQ(exact_codes, 3 * 4 * 200);  // the premise: these codes are exact
}

TEST(LowerBound, NonFiniteInputsGiveTheTrivialBound) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (BoundMetric m : kMetrics) {
    const double trivial = m == BoundMetric::kInnerProduct ? -std::numeric_limits<double>::infinity() : 0.0;
    EXPECT_EQ(DistanceLowerBound(m, inf, 0.1f, 1.0f, 8, 1.0), trivial) << Name(m);
    EXPECT_EQ(DistanceLowerBound(m, -inf, 0.1f, 1.0f, 8, 1.0), trivial) << Name(m);
    EXPECT_EQ(DistanceLowerBound(m, nan, 0.1f, 1.0f, 8, 1.0), trivial) << Name(m);
    EXPECT_EQ(DistanceLowerBound(m, 1.0f, inf, 1.0f, 8, 1.0), trivial) << Name(m);
    EXPECT_EQ(DistanceLowerBound(m, 1.0f, 0.1f, inf, 8, 1.0), trivial) << Name(m);
  }
}

TEST(LowerBound, ExactCodesBoundTheirOwnDistance) {
  // err = 0: the bound is the code distance, minus only the float margin.
  EXPECT_LE(DistanceLowerBound(BoundMetric::kL2, 4.0f, 0.0f, 1.0f, 2, 1.0), 2.0);
  EXPECT_GT(DistanceLowerBound(BoundMetric::kL2, 4.0f, 0.0f, 1.0f, 2, 1.0), 2.0 - 1e-5);
  EXPECT_EQ(DistanceLowerBound(BoundMetric::kL2, 0.0f, 0.0f, 0.0f, 2, 0.0), 0.0);
  EXPECT_LE(DistanceLowerBound(BoundMetric::kL1, 3.0f, 0.0f, 1.0f, 2, 1.0), 3.0);
  EXPECT_LE(DistanceLowerBound(BoundMetric::kCosine, -1.0f, 0.0f, 1.0f, 2, 1.0), 0.0);
  EXPECT_LE(DistanceLowerBound(BoundMetric::kInnerProduct, -5.0f, 0.0f, 5.0f, 2, 1.0), -5.0);
  // The L2 bound is never negative, even when err exceeds the code distance.
  EXPECT_EQ(DistanceLowerBound(BoundMetric::kL2, 1.0f, 3.0f, 1.0f, 2, 1.0), 0.0);
}

}  // namespace
}  // namespace vecann::kernels
