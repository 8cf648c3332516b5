// The `halfvec` type's in-memory and on-disk representation (pgvector's
// layout: varlena header, int16 dims, int16 unused, IEEE binary16 values as
// uint16 bit patterns), and helpers shared by the functions that create,
// check and read halfvecs.
#ifndef VECANN_TYPE_HALFVEC_H_
#define VECANN_TYPE_HALFVEC_H_

#include "codec/vector_limits.h"
#include "pg/pg_headers.h"

namespace vecann::type {

struct HalfVector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dim;      // number of dimensions
  int16 unused;   // reserved, always 0
  uint16 x[FLEXIBLE_ARRAY_MEMBER];  // half bit patterns, always finite
};

inline size_t HalfVectorSize(int dims) {
  return offsetof(HalfVector, x) + sizeof(uint16) * static_cast<size_t>(dims);
}

inline HalfVector* DatumGetHalfVector(Datum d) { return reinterpret_cast<HalfVector*>(PG_DETOAST_DATUM(d)); }

// palloc0's a halfvec of `dims` dimensions (values +0).
HalfVector* NewHalfVector(int dims);

// Errors unless 1 <= dims <= kMaxDims.
void CheckHalfDims(int dims);

// Errors unless a and b have the same number of dimensions.
void CheckSameHalfDims(const HalfVector* a, const HalfVector* b);

// The nearest half to x; an error if x is NaN or does not fit a half.
uint16 FloatToHalfChecked(float x);

}  // namespace vecann::type

#define PG_GETARG_HALFVEC_P(n) (vecann::type::DatumGetHalfVector(PG_GETARG_DATUM(n)))
#define PG_RETURN_HALFVEC_P(v) PG_RETURN_POINTER(v)

#endif  // VECANN_TYPE_HALFVEC_H_
