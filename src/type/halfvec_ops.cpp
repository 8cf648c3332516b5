// Operators and functions on `halfvec`: distances (through the half-precision
// SIMD kernels, which widen to float in registers), norm and normalization,
// element-wise arithmetic, comparisons behind the btree opclass, subvector
// and concatenation. Results that are halfvecs are rounded to the nearest
// half; a result beyond the half range is an error.
#include <cmath>
#include <cstdint>

#include "kernels/half.h"
#include "kernels/half_convert.h"
#include "pg/guard.h"
#include "type/halfvec.h"

using vecann::kernels::HalfToFloat;
using vecann::type::HalfVector;

namespace {

const vecann::kernels::HalfKernelTable& K() { return vecann::kernels::HalfKernels(); }

struct HalfPair {
  HalfVector* a;
  HalfVector* b;
};

HalfPair GetPair(FunctionCallInfo fcinfo) {
  HalfPair p{PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)};
  vecann::type::CheckSameHalfDims(p.a, p.b);
  return p;
}

// 1 - cos(a, b), clamped to [0, 2]; NaN when either is all zeros (as for vector).
double CosineDistance(const HalfVector* a, const HalfVector* b) {
  vecann::kernels::DotNorms dn = K().dot_norms(a->x, b->x, static_cast<size_t>(a->dim));
  double denom = std::sqrt(static_cast<double>(dn.norm_a) * static_cast<double>(dn.norm_b));
  if (!(denom > 0.0)) return std::nan("");
  double similarity = static_cast<double>(dn.dot) / denom;
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  return 1.0 - similarity;
}

double Norm(const HalfVector* v) {
  double sum = 0.0;
  for (int i = 0; i < v->dim; ++i) {
    double x = HalfToFloat(v->x[i]);
    sum += x * x;
  }
  return std::sqrt(sum);
}

// Lexicographic comparison of the values, then the shorter halfvec first.
int Compare(const HalfVector* a, const HalfVector* b) {
  int n = a->dim < b->dim ? a->dim : b->dim;
  for (int i = 0; i < n; ++i) {
    float x = HalfToFloat(a->x[i]), y = HalfToFloat(b->x[i]);
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return (a->dim > b->dim) - (a->dim < b->dim);
}

int CompareArgs(FunctionCallInfo fcinfo) { return Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)); }

enum class Arith { kAdd, kSub, kMul };

Datum ElementWise(FunctionCallInfo fcinfo, Arith op) {
  HalfPair p = GetPair(fcinfo);
  HalfVector* r = vecann::type::NewHalfVector(p.a->dim);
  for (int i = 0; i < p.a->dim; ++i) {
    // Sums and differences of halves are exact in float, products nearly:
    // the one rounding that matters is the final one to half.
    float x = HalfToFloat(p.a->x[i]), y = HalfToFloat(p.b->x[i]);
    float z = op == Arith::kAdd ? x + y : op == Arith::kSub ? x - y : x * y;
    uint16 h = vecann::kernels::FloatToHalf(z);
    if (!vecann::kernels::HalfIsFinite(h)) {
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow"),
                      errdetail("A halfvec holds values of magnitude up to 65504.")));
    }
    // A product of two non-zero values that rounds to zero has underflowed.
    if (op == Arith::kMul && vecann::kernels::HalfIsZero(h) && x != 0.0f && y != 0.0f) {
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: underflow")));
    }
    r->x[i] = h;
  }
  PG_RETURN_HALFVEC_P(r);
}

}  // namespace

// ---- distances ----------------------------------------------------------------

VECANN_FUNCTION(halfvec_l2_distance) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(K().squared_l2(p.a->x, p.b->x, static_cast<size_t>(p.a->dim)))));
}

// Squared L2: the same order as L2 without the square root (index support).
VECANN_FUNCTION(halfvec_l2_squared_distance) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(static_cast<double>(K().squared_l2(p.a->x, p.b->x, static_cast<size_t>(p.a->dim))));
}

VECANN_FUNCTION(halfvec_inner_product) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(static_cast<double>(K().inner_product(p.a->x, p.b->x, static_cast<size_t>(p.a->dim))));
}

VECANN_FUNCTION(halfvec_negative_inner_product) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(static_cast<double>(K().neg_inner_product(p.a->x, p.b->x, static_cast<size_t>(p.a->dim))));
}

VECANN_FUNCTION(halfvec_cosine_distance) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(CosineDistance(p.a, p.b));
}

VECANN_FUNCTION(halfvec_l1_distance) {
  HalfPair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(static_cast<double>(K().l1(p.a->x, p.b->x, static_cast<size_t>(p.a->dim))));
}

// ---- single-halfvec functions ---------------------------------------------------

VECANN_FUNCTION(halfvec_vector_dims) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  PG_RETURN_INT32(v->dim);
}

// Euclidean norm, accumulated in double precision (pgvector's l2_norm).
VECANN_FUNCTION(halfvec_l2_norm) { PG_RETURN_FLOAT8(Norm(PG_GETARG_HALFVEC_P(0))); }

// v / |v| rounded to halves; a zero halfvec is returned unchanged.
VECANN_FUNCTION(halfvec_l2_normalize) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  HalfVector* r = vecann::type::NewHalfVector(v->dim);
  double norm = Norm(v);
  for (int i = 0; i < v->dim; ++i) {
    r->x[i] = norm > 0.0 ? vecann::kernels::FloatToHalf(static_cast<float>(HalfToFloat(v->x[i]) / norm)) : v->x[i];
  }
  PG_RETURN_HALFVEC_P(r);
}

// ---- arithmetic -------------------------------------------------------------------

VECANN_FUNCTION(halfvec_add) { return ElementWise(fcinfo, Arith::kAdd); }
VECANN_FUNCTION(halfvec_sub) { return ElementWise(fcinfo, Arith::kSub); }
VECANN_FUNCTION(halfvec_mul) { return ElementWise(fcinfo, Arith::kMul); }

// ---- comparisons (btree opclass) ------------------------------------------------

VECANN_FUNCTION(halfvec_cmp) { PG_RETURN_INT32(CompareArgs(fcinfo)); }
VECANN_FUNCTION(halfvec_lt) { PG_RETURN_BOOL(CompareArgs(fcinfo) < 0); }
VECANN_FUNCTION(halfvec_le) { PG_RETURN_BOOL(CompareArgs(fcinfo) <= 0); }
VECANN_FUNCTION(halfvec_eq) { PG_RETURN_BOOL(CompareArgs(fcinfo) == 0); }
VECANN_FUNCTION(halfvec_ne) { PG_RETURN_BOOL(CompareArgs(fcinfo) != 0); }
VECANN_FUNCTION(halfvec_ge) { PG_RETURN_BOOL(CompareArgs(fcinfo) >= 0); }
VECANN_FUNCTION(halfvec_gt) { PG_RETURN_BOOL(CompareArgs(fcinfo) > 0); }

// ---- slices and concatenation (vector's rules, see vector_slice.cpp) -------------

// subvector(halfvec, start integer, count integer) -> halfvec
VECANN_FUNCTION(halfvec_subvector) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  int32 start = PG_GETARG_INT32(1);
  int32 count = PG_GETARG_INT32(2);
  if (count < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("subvector count must be at least 1, not %d", count)));
  }
  int64_t first = start;
  int64_t last = static_cast<int64_t>(start) + count - 1;  // inclusive, 1-based
  if (first > v->dim) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("subvector start %d is past the end of a halfvec of %d dimensions", start, v->dim)));
  }
  if (last < 1) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("subvector of %d elements from position %d ends before the first dimension", count,
                           start)));
  }
  if (first < 1) first = 1;
  if (last > v->dim) last = v->dim;
  int dims = static_cast<int>(last - first + 1);
  HalfVector* r = vecann::type::NewHalfVector(dims);
  memcpy(r->x, v->x + (first - 1), sizeof(uint16) * static_cast<size_t>(dims));
  PG_RETURN_HALFVEC_P(r);
}

// halfvec_concat(halfvec, halfvec) -> halfvec: a's elements, then b's.
VECANN_FUNCTION(halfvec_concat) {
  HalfVector* a = PG_GETARG_HALFVEC_P(0);
  HalfVector* b = PG_GETARG_HALFVEC_P(1);
  int dims = a->dim + b->dim;
  if (dims > vecann::codec::kMaxDims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("halfvec cannot have more than %d dimensions", vecann::codec::kMaxDims),
                    errdetail("Concatenating halfvecs of %d and %d dimensions would give %d.", a->dim, b->dim, dims)));
  }
  HalfVector* r = vecann::type::NewHalfVector(dims);
  memcpy(r->x, a->x, sizeof(uint16) * static_cast<size_t>(a->dim));
  memcpy(r->x + a->dim, b->x, sizeof(uint16) * static_cast<size_t>(b->dim));
  PG_RETURN_HALFVEC_P(r);
}
