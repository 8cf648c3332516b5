// avg(halfvec) support: the transition and final functions. The state is the
// same as avg(vector)'s, a double precision[] of 1 + dims elements (the row
// count, then the running sums), so the combine function is vector_combine.
// sum(halfvec) folds with halfvec_add.
#include <cmath>

#include "kernels/half_convert.h"
#include "pg/guard.h"
#include "type/halfvec.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using vecann::type::HalfVector;

namespace {

// The state's elements; n <= 1 for the empty initial state '{0}'.
float8* StateValues(ArrayType* state, int* n) {
  if (ARR_NDIM(state) != 1 || ARR_ELEMTYPE(state) != FLOAT8OID || ARR_HASNULL(state)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("invalid halfvec aggregate state")));
  }
  *n = ARR_DIMS(state)[0];
  return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

ArrayType* MakeState(const float8* values, int n) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  for (int i = 0; i < n; ++i) datums[i] = Float8GetDatum(values[i]);
  return construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

}  // namespace

// halfvec_accum(double precision[], halfvec) -> double precision[]
VECANN_FUNCTION(halfvec_accum) {
  int n;
  float8* state = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  HalfVector* v = PG_GETARG_HALFVEC_P(1);
  int len = v->dim + 1;
  float8* next = static_cast<float8*>(palloc0(sizeof(float8) * len));
  if (n > 1) {
    if (n != len) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("different halfvec dimensions %d and %d", n - 1, len - 1)));
    }
    memcpy(next, state, sizeof(float8) * len);
  }
  next[0] += 1.0;
  // Sums of halves (|x| <= 65504) cannot overflow a double.
  for (int i = 0; i < v->dim; ++i) next[i + 1] += vecann::kernels::HalfToFloat(v->x[i]);
  PG_RETURN_ARRAYTYPE_P(MakeState(next, len));
}

// halfvec_avg(double precision[]) -> halfvec; NULL when no rows were aggregated.
VECANN_FUNCTION(halfvec_avg) {
  int n;
  float8* state = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  if (n <= 1 || state[0] == 0.0) PG_RETURN_NULL();
  HalfVector* v = vecann::type::NewHalfVector(n - 1);
  for (int i = 1; i < n; ++i) v->x[i - 1] = vecann::type::FloatToHalfChecked(static_cast<float>(state[i] / state[0]));
  PG_RETURN_HALFVEC_P(v);
}
