// avg(vector) support: the transition, combine (parallel aggregation) and
// final functions over the state of type/agg_state.h. sum(vector) needs none
// of this: it folds with vector_add.
#include <cmath>

#include "pg/guard.h"
#include "type/agg_state.h"
#include "type/vector.h"

using vecann::type::AggState;
using vecann::type::MakeAggState;
using vecann::type::ReadAggState;
using vecann::type::Vector;

namespace {

void CheckStateDims(int a, int b) {
  if (a != b) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different vector dimensions %d and %d", a, b)));
  }
}

void CheckSumFinite(float8 sum) {
  if (std::isinf(sum)) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
  }
}

}  // namespace

// vector_accum(double precision[], vector) -> double precision[]
VECANN_FUNCTION(vector_accum) {
  AggState state = ReadAggState(PG_GETARG_ARRAYTYPE_P(0), "vector");
  Vector* v = PG_GETARG_VECTOR_P(1);
  if (state.dims > 0) CheckStateDims(state.dims, v->dim);
  float8* sums = static_cast<float8*>(palloc0(sizeof(float8) * v->dim));
  for (int i = 0; i < v->dim; ++i) {
    sums[i] = (state.dims > 0 ? state.sums[i] : 0.0) + v->x[i];
    CheckSumFinite(sums[i]);
  }
  PG_RETURN_ARRAYTYPE_P(MakeAggState(state.count + 1, sums, v->dim));
}

// vector_combine(double precision[], double precision[]) -> double precision[]
// Also avg(halfvec)'s combine function: the two states are alike.
VECANN_FUNCTION(vector_combine) {
  AggState a = ReadAggState(PG_GETARG_ARRAYTYPE_P(0), "vector");
  AggState b = ReadAggState(PG_GETARG_ARRAYTYPE_P(1), "vector");
  if (a.dims == 0) PG_RETURN_ARRAYTYPE_P(MakeAggState(b.count, b.sums, b.dims));
  if (b.dims == 0) PG_RETURN_ARRAYTYPE_P(MakeAggState(a.count, a.sums, a.dims));
  CheckStateDims(a.dims, b.dims);
  float8* sums = static_cast<float8*>(palloc(sizeof(float8) * a.dims));
  for (int i = 0; i < a.dims; ++i) {
    sums[i] = a.sums[i] + b.sums[i];
    CheckSumFinite(sums[i]);
  }
  PG_RETURN_ARRAYTYPE_P(MakeAggState(a.count + b.count, sums, a.dims));
}

// vector_avg(double precision[]) -> vector; NULL when no rows were aggregated.
VECANN_FUNCTION(vector_avg) {
  AggState state = ReadAggState(PG_GETARG_ARRAYTYPE_P(0), "vector");
  if (state.dims == 0) PG_RETURN_NULL();
  Vector* v = vecann::type::NewVector(state.dims);
  for (int i = 0; i < state.dims; ++i) {
    float x = static_cast<float>(state.sums[i] / state.count);
    vecann::type::CheckElementFinite(x);
    v->x[i] = x;
  }
  PG_RETURN_VECTOR_P(v);
}
