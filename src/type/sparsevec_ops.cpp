// Operators and functions on `sparsevec`: distances (merge-based kernels,
// src/kernels/sparse.h), norm and normalization, the comparisons behind the
// btree opclass, and the casts to and from `vector` and `halfvec`.
#include <cmath>

#include "kernels/half_convert.h"
#include "kernels/sparse.h"
#include "pg/guard.h"
#include "type/halfvec.h"
#include "type/sparsevec.h"
#include "type/vector.h"

using vecann::type::HalfVector;
using vecann::type::SparseValues;
using vecann::type::SparseVector;
using vecann::type::SparseViewOf;
using vecann::type::Vector;

namespace {

struct SparsePair {
  SparseVector* a;
  SparseVector* b;
};

SparsePair GetPair(FunctionCallInfo fcinfo) {
  SparsePair p{PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)};
  vecann::type::CheckSameSparseDims(p.a, p.b);
  return p;
}

// Dense comparison: element by element over the common dimensions (absent
// elements are zero), then the one with fewer dimensions first.
int Compare(const SparseVector* a, const SparseVector* b) {
  const int dims = a->dim < b->dim ? a->dim : b->dim;
  const float* av = SparseValues(a);
  const float* bv = SparseValues(b);
  int i = 0, j = 0;
  for (;;) {
    const int ia = i < a->nnz ? a->indices[i] : dims;
    const int ib = j < b->nnz ? b->indices[j] : dims;
    const int at = ia < ib ? ia : ib;  // the first index where either has a value
    if (at >= dims) break;
    const float x = ia == at ? av[i++] : 0.0f;
    const float y = ib == at ? bv[j++] : 0.0f;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return (a->dim > b->dim) - (a->dim < b->dim);
}

int CompareArgs(FunctionCallInfo fcinfo) { return Compare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)); }

// A sparsevec of `dims` dimensions from dense values (the non-zero ones).
template <class ValueAt>
SparseVector* FromDense(int dims, int32 typmod, ValueAt value_at) {
  vecann::type::CheckExpectedDims(typmod, dims);
  int nnz = 0;
  for (int i = 0; i < dims; ++i) nnz += value_at(i) != 0.0f;
  vecann::type::CheckSparseNonZero(nnz);
  SparseVector* r = vecann::type::NewSparseVector(dims, nnz);
  float* values = SparseValues(r);
  int k = 0;
  for (int i = 0; i < dims; ++i) {
    const float x = value_at(i);
    if (x == 0.0f) continue;
    r->indices[k] = i;
    values[k++] = x;
  }
  return r;
}

// Errors unless a dense type can hold `dims` dimensions.
void CheckDenseDims(int dims, const char* type_name) {
  if (dims > vecann::codec::kMaxDims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("%s cannot have more than %d dimensions", type_name, vecann::codec::kMaxDims),
                    errdetail("The sparsevec has %d dimensions.", dims)));
  }
}

}  // namespace

// ---- distances ----------------------------------------------------------------

VECANN_FUNCTION(sparsevec_l2_distance) {
  SparsePair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(std::sqrt(vecann::kernels::SparseSquaredL2(SparseViewOf(p.a), SparseViewOf(p.b))));
}

VECANN_FUNCTION(sparsevec_l2_squared_distance) {
  SparsePair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(vecann::kernels::SparseSquaredL2(SparseViewOf(p.a), SparseViewOf(p.b)));
}

VECANN_FUNCTION(sparsevec_inner_product) {
  SparsePair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(vecann::kernels::SparseInnerProduct(SparseViewOf(p.a), SparseViewOf(p.b)));
}

VECANN_FUNCTION(sparsevec_negative_inner_product) {
  SparsePair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(-vecann::kernels::SparseInnerProduct(SparseViewOf(p.a), SparseViewOf(p.b)));
}

// 1 - cos(a, b), clamped to [0, 2]; NaN when either has no non-zero element.
VECANN_FUNCTION(sparsevec_cosine_distance) {
  SparsePair p = GetPair(fcinfo);
  vecann::kernels::SparseDotNorms dn = vecann::kernels::SparseDotAndNorms(SparseViewOf(p.a), SparseViewOf(p.b));
  double denom = std::sqrt(dn.norm_a * dn.norm_b);
  if (!(denom > 0.0)) PG_RETURN_FLOAT8(std::nan(""));
  double similarity = dn.dot / denom;
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  PG_RETURN_FLOAT8(1.0 - similarity);
}

VECANN_FUNCTION(sparsevec_l1_distance) {
  SparsePair p = GetPair(fcinfo);
  PG_RETURN_FLOAT8(vecann::kernels::SparseL1(SparseViewOf(p.a), SparseViewOf(p.b)));
}

// ---- single-sparsevec functions -------------------------------------------------

VECANN_FUNCTION(sparsevec_l2_norm) {
  PG_RETURN_FLOAT8(std::sqrt(vecann::kernels::SparseSquaredNorm(SparseViewOf(PG_GETARG_SPARSEVEC_P(0)))));
}

// v / |v|; elements that underflow to zero are dropped; a sparsevec with no
// non-zero element is returned unchanged.
VECANN_FUNCTION(sparsevec_l2_normalize) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  double norm = std::sqrt(vecann::kernels::SparseSquaredNorm(SparseViewOf(v)));
  if (!(norm > 0.0)) PG_RETURN_SPARSEVEC_P(v);
  const float* values = SparseValues(v);
  int nnz = 0;
  for (int i = 0; i < v->nnz; ++i) nnz += static_cast<float>(values[i] / norm) != 0.0f;
  SparseVector* r = vecann::type::NewSparseVector(v->dim, nnz);
  float* out = SparseValues(r);
  int k = 0;
  for (int i = 0; i < v->nnz; ++i) {
    const float x = static_cast<float>(values[i] / norm);
    if (x == 0.0f) continue;
    r->indices[k] = v->indices[i];
    out[k++] = x;
  }
  PG_RETURN_SPARSEVEC_P(r);
}

// ---- comparisons (btree opclass) ------------------------------------------------

VECANN_FUNCTION(sparsevec_cmp) { PG_RETURN_INT32(CompareArgs(fcinfo)); }
VECANN_FUNCTION(sparsevec_lt) { PG_RETURN_BOOL(CompareArgs(fcinfo) < 0); }
VECANN_FUNCTION(sparsevec_le) { PG_RETURN_BOOL(CompareArgs(fcinfo) <= 0); }
VECANN_FUNCTION(sparsevec_eq) { PG_RETURN_BOOL(CompareArgs(fcinfo) == 0); }
VECANN_FUNCTION(sparsevec_ne) { PG_RETURN_BOOL(CompareArgs(fcinfo) != 0); }
VECANN_FUNCTION(sparsevec_ge) { PG_RETURN_BOOL(CompareArgs(fcinfo) >= 0); }
VECANN_FUNCTION(sparsevec_gt) { PG_RETURN_BOOL(CompareArgs(fcinfo) > 0); }

// ---- casts ------------------------------------------------------------------------

// vector_to_sparsevec(vector, int4 typmod, bool) -> sparsevec
VECANN_FUNCTION(vector_to_sparsevec) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  PG_RETURN_SPARSEVEC_P(FromDense(v->dim, PG_GETARG_INT32(1), [v](int i) { return v->x[i]; }));
}

// halfvec_to_sparsevec(halfvec, int4 typmod, bool) -> sparsevec
VECANN_FUNCTION(halfvec_to_sparsevec) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  PG_RETURN_SPARSEVEC_P(
      FromDense(v->dim, PG_GETARG_INT32(1), [v](int i) { return vecann::kernels::HalfToFloat(v->x[i]); }));
}

// sparsevec_to_vector(sparsevec, int4 typmod, bool) -> vector
VECANN_FUNCTION(sparsevec_to_vector) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  CheckDenseDims(v->dim, "vector");
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  Vector* r = vecann::type::NewVector(v->dim);
  const float* values = SparseValues(v);
  for (int i = 0; i < v->nnz; ++i) r->x[v->indices[i]] = values[i];
  PG_RETURN_VECTOR_P(r);
}

// sparsevec_to_halfvec(sparsevec, int4 typmod, bool) -> halfvec: values
// rounded to the nearest half.
VECANN_FUNCTION(sparsevec_to_halfvec) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  CheckDenseDims(v->dim, "halfvec");
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  HalfVector* r = vecann::type::NewHalfVector(v->dim);
  const float* values = SparseValues(v);
  for (int i = 0; i < v->nnz; ++i) r->x[v->indices[i]] = vecann::type::FloatToHalfChecked(values[i]);
  PG_RETURN_HALFVEC_P(r);
}
