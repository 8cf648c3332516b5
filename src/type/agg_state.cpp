// Validation and construction of the avg(vector) / avg(halfvec) state (see agg_state.h).
#include "type/agg_state.h"

#include <cmath>

#include "codec/vector_limits.h"

extern "C" {
#include "catalog/pg_type.h"
}

#define INVALID_STATE(type_name, ...)                                                                  \
  ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("invalid %s aggregate state", type_name), \
                  errdetail(__VA_ARGS__)))

namespace vecann::type {

AggState ReadAggState(ArrayType* state, const char* type_name) {
  if (ARR_NDIM(state) != 1 || ARR_ELEMTYPE(state) != FLOAT8OID || ARR_HASNULL(state)) {
    INVALID_STATE(type_name, "The state must be a one-dimensional double precision array without NULLs.");
  }
  int n = ARR_DIMS(state)[0];
  if (n < 1 || n - 1 > codec::kMaxDims) {
    INVALID_STATE(type_name, "The state must have 1 to %d elements (a count and up to %d sums), not %d.",
                  codec::kMaxDims + 1, codec::kMaxDims, n);
  }
  const auto* values = reinterpret_cast<const float8*>(ARR_DATA_PTR(state));
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) INVALID_STATE(type_name, "Element %d of the state is not finite.", i + 1);
  }
  float8 count = values[0];
  bool whole = count >= 0 && count == std::floor(count);
  if (!whole || (n == 1) != (count == 0)) {
    INVALID_STATE(type_name, "The count (element 1) must be 0 in an empty state and a whole number of at least 1 "
                  "in a state with sums.");
  }
  return AggState{n - 1, count, values + 1};
}

ArrayType* MakeAggState(float8 count, const float8* sums, int dims) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (dims + 1)));
  datums[0] = Float8GetDatum(count);
  for (int i = 0; i < dims; ++i) datums[i + 1] = Float8GetDatum(sums[i]);
  return construct_array(datums, dims + 1, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

}  // namespace vecann::type
