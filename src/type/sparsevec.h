// The `sparsevec` type's in-memory and on-disk representation (pgvector's
// layout: varlena header, int32 dims, int32 nnz, int32 unused, nnz int32
// 0-based indices in increasing order, then nnz float4 non-zero values), and
// helpers shared by the functions that create, check and read sparsevecs.
#ifndef VECANN_TYPE_SPARSEVEC_H_
#define VECANN_TYPE_SPARSEVEC_H_

#include "codec/sparsevec.h"
#include "kernels/sparse.h"
#include "pg/pg_headers.h"

namespace vecann::type {

struct SparseVector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int32 dim;      // number of dimensions
  int32 nnz;      // number of stored (non-zero) elements
  int32 unused;   // reserved, always 0
  int32 indices[FLEXIBLE_ARRAY_MEMBER];  // nnz indices, then nnz float values
};

inline size_t SparseVectorSize(int nnz) {
  return offsetof(SparseVector, indices) + (sizeof(int32) + sizeof(float)) * static_cast<size_t>(nnz);
}

inline float* SparseValues(SparseVector* v) { return reinterpret_cast<float*>(v->indices + v->nnz); }
inline const float* SparseValues(const SparseVector* v) {
  return reinterpret_cast<const float*>(v->indices + v->nnz);
}

inline kernels::SparseView SparseViewOf(const SparseVector* v) {
  return kernels::SparseView{v->indices, SparseValues(v), static_cast<size_t>(v->nnz)};
}

inline SparseVector* DatumGetSparseVector(Datum d) { return reinterpret_cast<SparseVector*>(PG_DETOAST_DATUM(d)); }

// palloc0's a sparsevec of `dims` dimensions with room for nnz elements.
SparseVector* NewSparseVector(int dims, int nnz);

// Errors unless a and b have the same number of dimensions.
void CheckSameSparseDims(const SparseVector* a, const SparseVector* b);

// Errors unless nnz <= kMaxSparseNonZero.
void CheckSparseNonZero(int nnz);

}  // namespace vecann::type

#define PG_GETARG_SPARSEVEC_P(n) (vecann::type::DatumGetSparseVector(PG_GETARG_DATUM(n)))
#define PG_RETURN_SPARSEVEC_P(v) PG_RETURN_POINTER(v)

#endif  // VECANN_TYPE_SPARSEVEC_H_
