// Slicing and joining vectors (added in 0.2.0): subvector(v, start, count)
// and vector_concat(a, b), the `||` operator. Semantics follow pgvector's:
// subvector counts from 1 and, like substring(), keeps the part of
// [start, start + count) that lies inside the vector; a slice with nothing
// inside the vector is an error that says why.
#include <cstdint>
#include <cstring>

#include "pg/guard.h"
#include "type/vector.h"

using vecann::type::Vector;

// subvector(vector, start integer, count integer) -> vector
VECANN_FUNCTION(subvector) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  int32 start = PG_GETARG_INT32(1);
  int32 count = PG_GETARG_INT32(2);
  if (count < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("subvector count must be at least 1, not %d", count)));
  }
  // 64-bit arithmetic: start + count can overflow int32.
  int64_t first = start;
  int64_t last = static_cast<int64_t>(start) + count - 1;  // inclusive, 1-based
  if (first > v->dim) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("subvector start %d is past the end of a vector of %d dimensions", start, v->dim)));
  }
  if (last < 1) {
    ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                    errmsg("subvector of %d elements from position %d ends before the first dimension", count,
                           start)));
  }
  if (first < 1) first = 1;
  if (last > v->dim) last = v->dim;
  int dims = static_cast<int>(last - first + 1);
  Vector* r = vecann::type::NewVector(dims);
  memcpy(r->x, v->x + (first - 1), sizeof(float) * static_cast<size_t>(dims));
  PG_RETURN_VECTOR_P(r);
}

// vector_concat(vector, vector) -> vector: a's elements, then b's.
VECANN_FUNCTION(vector_concat) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  int dims = a->dim + b->dim;  // each at most 16,000: no overflow
  if (dims > vecann::codec::kMaxDims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("vector cannot have more than %d dimensions", vecann::codec::kMaxDims),
                    errdetail("Concatenating vectors of %d and %d dimensions would give %d.", a->dim, b->dim, dims)));
  }
  Vector* r = vecann::type::NewVector(dims);
  memcpy(r->x, a->x, sizeof(float) * static_cast<size_t>(a->dim));
  memcpy(r->x + a->dim, b->x, sizeof(float) * static_cast<size_t>(b->dim));
  PG_RETURN_VECTOR_P(r);
}
