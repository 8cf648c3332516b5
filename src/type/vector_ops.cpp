// Operators and functions on `vector`: distances (through the SIMD kernels),
// norms, element-wise arithmetic, and the comparisons behind the btree opclass.
#include <algorithm>
#include <cmath>

#include "kernels/distance.h"
#include "pg/guard.h"
#include "type/vector.h"

using vecann::type::Vector;

namespace {

const vecann::kernels::KernelTable& K() { return vecann::kernels::Kernels(); }

// Two vector arguments of equal dimensions.
struct VectorPair {
  Vector* a;
  Vector* b;
};

VectorPair GetPair(FunctionCallInfo fcinfo) {
  VectorPair p{PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)};
  vecann::type::CheckSameDims(p.a, p.b);
  return p;
}

// The kernels sum in float32, which overflows for values beyond about
// 1.8e19 (their squares pass FLT_MAX). Results are float8, so when a kernel
// result is not finite the distance is summed again in double precision:
// every finite input gets its true distance (pgvector would give inf or a
// wrong cosine there), and an index's bounds, computed from the true value's
// terms, never exceed what the operator returns.
enum class Sum { kSquaredL2, kDot, kL1 };

double SumInDouble(const Vector* a, const Vector* b, Sum what) {
  double sum = 0.0;
  for (int i = 0; i < a->dim; ++i) {
    double x = a->x[i], y = b->x[i];
    sum += what == Sum::kSquaredL2 ? (x - y) * (x - y) : what == Sum::kDot ? x * y : std::fabs(x - y);
  }
  return sum;
}

double Checked(float kernel_result, const Vector* a, const Vector* b, Sum what) {
  return std::isfinite(kernel_result) ? static_cast<double>(kernel_result) : SumInDouble(a, b, what);
}

// Cosine distance, 1 - cos(a, b), clamped to [0, 2]. NaN when either vector
// is all zeros: the angle is undefined (pgvector does the same; NaN sorts
// after every number, so such rows come last in ORDER BY <=>).
double CosineDistance(const Vector* a, const Vector* b) {
  vecann::kernels::DotNorms dn = K().dot_norms(a->x, b->x, a->dim);
  if (!std::isfinite(dn.dot) || !std::isfinite(dn.norm_a) || !std::isfinite(dn.norm_b)) {
    double dot = SumInDouble(a, b, Sum::kDot), na = SumInDouble(a, a, Sum::kDot), nb = SumInDouble(b, b, Sum::kDot);
    double denom = std::sqrt(na) * std::sqrt(nb);
    if (!(denom > 0.0)) return std::nan("");
    return 1.0 - std::clamp(dot / denom, -1.0, 1.0);
  }
  double denom = std::sqrt(static_cast<double>(dn.norm_a) * static_cast<double>(dn.norm_b));
  if (!(denom > 0.0)) return std::nan("");
  double similarity = static_cast<double>(dn.dot) / denom;
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  return 1.0 - similarity;
}

// Lexicographic comparison: elements first, then the shorter vector first.
int CompareVectors(const Vector* a, const Vector* b) {
  int n = a->dim < b->dim ? a->dim : b->dim;
  for (int i = 0; i < n; ++i) {
    if (a->x[i] < b->x[i]) return -1;
    if (a->x[i] > b->x[i]) return 1;
  }
  return (a->dim > b->dim) - (a->dim < b->dim);
}

int CompareArgs(FunctionCallInfo fcinfo) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  return CompareVectors(a, b);
}

enum class Arith { kAdd, kSub, kMul };

Datum ElementWise(FunctionCallInfo fcinfo, Arith op) {
  VectorPair p = GetPair(fcinfo);
  Vector* r = vecann::type::NewVector(p.a->dim);
  for (int i = 0; i < p.a->dim; ++i) {
    float x = p.a->x[i], y = p.b->x[i];
    float z = op == Arith::kAdd ? x + y : op == Arith::kSub ? x - y : x * y;
    vecann::type::CheckElementFinite(z);
    // A product of two non-zero values that rounds to zero has underflowed.
    if (op == Arith::kMul && z == 0.0f && x != 0.0f && y != 0.0f) {
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: underflow")));
    }
    r->x[i] = z;
  }
  PG_RETURN_VECTOR_P(r);
}

}  // namespace

// ---- distances ----------------------------------------------------------------

VECANN_FUNCTION(l2_distance) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(std::sqrt(Checked(K().squared_l2(p.a->x, p.b->x, p.a->dim), p.a, p.b, Sum::kSquaredL2)));
}

// Squared L2: the index's internal L2 ordering (same order, no square root).
VECANN_FUNCTION(vector_l2_squared_distance) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(Checked(K().squared_l2(p.a->x, p.b->x, p.a->dim), p.a, p.b, Sum::kSquaredL2));
}

VECANN_FUNCTION(inner_product) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(Checked(K().inner_product(p.a->x, p.b->x, p.a->dim), p.a, p.b, Sum::kDot));
}

VECANN_FUNCTION(vector_negative_inner_product) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(-Checked(K().inner_product(p.a->x, p.b->x, p.a->dim), p.a, p.b, Sum::kDot));
}

VECANN_FUNCTION(cosine_distance) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(CosineDistance(p.a, p.b));
}

VECANN_FUNCTION(l1_distance) {
  VectorPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(Checked(K().l1(p.a->x, p.b->x, p.a->dim), p.a, p.b, Sum::kL1));
}

// ---- single-vector functions ----------------------------------------------------

VECANN_FUNCTION(vector_dims) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  PG_RETURN_INT32(v->dim);
}

// Euclidean norm, accumulated in double precision.
VECANN_FUNCTION(vector_norm) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  double sum = 0.0;
  for (int i = 0; i < v->dim; ++i) sum += static_cast<double>(v->x[i]) * v->x[i];
  PG_RETURN_FLOAT8(std::sqrt(sum));
}

// v / |v|; a zero vector is returned unchanged (it has no direction).
VECANN_FUNCTION(l2_normalize) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  Vector* r = vecann::type::NewVector(v->dim);
  double sum = 0.0;
  for (int i = 0; i < v->dim; ++i) sum += static_cast<double>(v->x[i]) * v->x[i];
  double norm = std::sqrt(sum);
  for (int i = 0; i < v->dim; ++i) {
    r->x[i] = norm > 0.0 ? static_cast<float>(v->x[i] / norm) : v->x[i];
  }
  PG_RETURN_VECTOR_P(r);
}

// ---- arithmetic -------------------------------------------------------------------

VECANN_FUNCTION(vector_add) { return ElementWise(fcinfo, Arith::kAdd); }
VECANN_FUNCTION(vector_sub) { return ElementWise(fcinfo, Arith::kSub); }
VECANN_FUNCTION(vector_mul) { return ElementWise(fcinfo, Arith::kMul); }

// ---- comparisons (btree opclass) ------------------------------------------------

VECANN_FUNCTION(vector_cmp) { PG_RETURN_INT32(CompareArgs(fcinfo)); }
VECANN_FUNCTION(vector_lt) { PG_RETURN_BOOL(CompareArgs(fcinfo) < 0); }
VECANN_FUNCTION(vector_le) { PG_RETURN_BOOL(CompareArgs(fcinfo) <= 0); }
VECANN_FUNCTION(vector_eq) { PG_RETURN_BOOL(CompareArgs(fcinfo) == 0); }
VECANN_FUNCTION(vector_ne) { PG_RETURN_BOOL(CompareArgs(fcinfo) != 0); }
VECANN_FUNCTION(vector_ge) { PG_RETURN_BOOL(CompareArgs(fcinfo) >= 0); }
VECANN_FUNCTION(vector_gt) { PG_RETURN_BOOL(CompareArgs(fcinfo) > 0); }
