// The `vector` type's in-memory and on-disk representation (same layout as
// pgvector's, so binary-compatible varlenas), and helpers shared by the
// functions that create, check and read vectors.
#ifndef VECANN_TYPE_VECTOR_H_
#define VECANN_TYPE_VECTOR_H_

#include "codec/vector_limits.h"
#include "pg/pg_headers.h"

namespace vecann::type {

struct Vector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dim;      // number of dimensions
  int16 unused;   // reserved, always 0
  float x[FLEXIBLE_ARRAY_MEMBER];
};

inline size_t VectorSize(int dims) { return offsetof(Vector, x) + sizeof(float) * static_cast<size_t>(dims); }

inline Vector* DatumGetVector(Datum d) { return reinterpret_cast<Vector*>(PG_DETOAST_DATUM(d)); }

// palloc0's a vector of `dims` dimensions (values zero).
Vector* NewVector(int dims);

// Errors unless 1 <= dims <= kMaxDims.
void CheckDims(int dims);

// Errors unless the vector has `typmod` dimensions (typmod -1 accepts any).
void CheckExpectedDims(int typmod, int dims);

// Errors unless a and b have the same number of dimensions.
void CheckSameDims(const Vector* a, const Vector* b);

// Errors if value is NaN or infinite (used after arithmetic).
void CheckElementFinite(float value);

}  // namespace vecann::type

#define PG_GETARG_VECTOR_P(n) (vecann::type::DatumGetVector(PG_GETARG_DATUM(n)))
#define PG_RETURN_VECTOR_P(v) PG_RETURN_POINTER(v)

#endif  // VECANN_TYPE_VECTOR_H_
