// The transition state of avg(vector) and avg(halfvec): a double precision[]
// of 1 + dims elements, the row count followed by the running sums (kept in
// double precision). '{0}' is the initial, empty state.
//
// These arrays reach the aggregate functions from SQL too (any role can call
// vector_avg('{3,1,2}')), so every function that takes one reads it through
// ReadAggState, which validates it as strictly as vector input validates text.
#ifndef VECANN_TYPE_AGG_STATE_H_
#define VECANN_TYPE_AGG_STATE_H_

#include "pg/pg_headers.h"

extern "C" {
#include "utils/array.h"
}

namespace vecann::type {

struct AggState {
  int dims;              // 0 for the empty state
  float8 count;          // rows aggregated: an integer, >= 1 unless empty
  const float8* sums;    // dims running sums, each finite
};

// The state's parts; an error (22000) naming `type_name` unless the array is
// one-dimensional float8 without NULLs, of 1 + dims elements with dims 0 (and
// count 0) or 1..16000 (and count a whole number >= 1), all values finite.
AggState ReadAggState(ArrayType* state, const char* type_name);

// A new state array of 1 + dims elements: count, then sums.
ArrayType* MakeAggState(float8 count, const float8* sums, int dims);

}  // namespace vecann::type

#endif  // VECANN_TYPE_AGG_STATE_H_
