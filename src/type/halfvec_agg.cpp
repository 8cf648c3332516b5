// avg(halfvec) support: the transition and final functions over the state of
// type/agg_state.h, the same as avg(vector)'s, so the combine function is
// vector_combine. sum(halfvec) folds with halfvec_add.
#include "kernels/half_convert.h"
#include "pg/guard.h"
#include "type/agg_state.h"
#include "type/halfvec.h"

using vecann::type::AggState;
using vecann::type::HalfVector;
using vecann::type::MakeAggState;
using vecann::type::ReadAggState;

// halfvec_accum(double precision[], halfvec) -> double precision[]
VECANN_FUNCTION(halfvec_accum) {
  AggState state = ReadAggState(PG_GETARG_ARRAYTYPE_P(0), "halfvec");
  HalfVector* v = PG_GETARG_HALFVEC_P(1);
  if (state.dims > 0 && state.dims != v->dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different halfvec dimensions %d and %d", state.dims, v->dim)));
  }
  float8* sums = static_cast<float8*>(palloc0(sizeof(float8) * v->dim));
  // A valid state's sums are finite and halves are at most 65504, so a sum
  // can only overflow after about 10^303 rows.
  for (int i = 0; i < v->dim; ++i) {
    sums[i] = (state.dims > 0 ? state.sums[i] : 0.0) + vecann::kernels::HalfToFloat(v->x[i]);
  }
  PG_RETURN_ARRAYTYPE_P(MakeAggState(state.count + 1, sums, v->dim));
}

// halfvec_avg(double precision[]) -> halfvec; NULL when no rows were aggregated.
VECANN_FUNCTION(halfvec_avg) {
  AggState state = ReadAggState(PG_GETARG_ARRAYTYPE_P(0), "halfvec");
  if (state.dims == 0) PG_RETURN_NULL();
  HalfVector* v = vecann::type::NewHalfVector(state.dims);
  for (int i = 0; i < state.dims; ++i) {
    v->x[i] = vecann::type::FloatToHalfChecked(static_cast<float>(state.sums[i] / state.count));
  }
  PG_RETURN_HALFVEC_P(v);
}
