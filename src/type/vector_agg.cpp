// avg(vector) support: the transition, combine (parallel aggregation) and
// final functions. The state is a double precision[] of 1 + dims elements:
// the row count followed by the running sums, kept in double precision.
// sum(vector) needs none of this: it folds with vector_add.
#include <cmath>

#include "pg/guard.h"
#include "type/vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using vecann::type::Vector;

namespace {

// The state's elements, or nullptr for the empty initial state '{0}'.
float8* StateValues(ArrayType* state, int* n) {
  if (ARR_NDIM(state) != 1 || ARR_ELEMTYPE(state) != FLOAT8OID || ARR_HASNULL(state)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("invalid vector aggregate state")));
  }
  *n = ARR_DIMS(state)[0];
  return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

ArrayType* MakeState(const float8* values, int n) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  for (int i = 0; i < n; ++i) datums[i] = Float8GetDatum(values[i]);
  return construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

void CheckStateDims(int a, int b) {
  if (a != b) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("different vector dimensions %d and %d", a - 1, b - 1)));
  }
}

}  // namespace

// vector_accum(double precision[], vector) -> double precision[]
VECANN_FUNCTION(vector_accum) {
  int n;
  float8* state = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  Vector* v = PG_GETARG_VECTOR_P(1);
  int len = v->dim + 1;
  float8* next = static_cast<float8*>(palloc0(sizeof(float8) * len));
  if (n > 1) {
    CheckStateDims(n, len);
    memcpy(next, state, sizeof(float8) * len);
  }
  next[0] += 1.0;
  for (int i = 0; i < v->dim; ++i) {
    next[i + 1] += v->x[i];
    if (std::isinf(next[i + 1])) {
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
    }
  }
  PG_RETURN_ARRAYTYPE_P(MakeState(next, len));
}

// vector_combine(double precision[], double precision[]) -> double precision[]
VECANN_FUNCTION(vector_combine) {
  int na, nb;
  float8* a = StateValues(PG_GETARG_ARRAYTYPE_P(0), &na);
  float8* b = StateValues(PG_GETARG_ARRAYTYPE_P(1), &nb);
  if (na <= 1) PG_RETURN_ARRAYTYPE_P(MakeState(b, nb));
  if (nb <= 1) PG_RETURN_ARRAYTYPE_P(MakeState(a, na));
  CheckStateDims(na, nb);
  float8* sum = static_cast<float8*>(palloc(sizeof(float8) * na));
  for (int i = 0; i < na; ++i) sum[i] = a[i] + b[i];
  PG_RETURN_ARRAYTYPE_P(MakeState(sum, na));
}

// vector_avg(double precision[]) -> vector; NULL when no rows were aggregated.
VECANN_FUNCTION(vector_avg) {
  int n;
  float8* state = StateValues(PG_GETARG_ARRAYTYPE_P(0), &n);
  if (n <= 1 || state[0] == 0.0) PG_RETURN_NULL();
  Vector* v = vecann::type::NewVector(n - 1);
  for (int i = 1; i < n; ++i) {
    float x = static_cast<float>(state[i] / state[0]);
    vecann::type::CheckElementFinite(x);
    v->x[i - 1] = x;
  }
  PG_RETURN_VECTOR_P(v);
}
