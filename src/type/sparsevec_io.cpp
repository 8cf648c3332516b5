// Input/output of the `sparsevec` type: text in/out ("{1:0.5,7:2}/10"),
// binary send/recv (pgvector's wire format), typmod parsing, the
// typmod-enforcing cast sparsevec(n), and the helpers declared in
// sparsevec.h.
#include "codec/sparsevec.h"
#include "pg/guard.h"
#include "type/sparsevec.h"
#include "type/text_error.h"
#include "type/vector.h"

extern "C" {
#include "libpq/pqformat.h"
}

using vecann::codec::kMaxSparseDims;
using vecann::codec::kMaxSparseNonZero;
using vecann::codec::SparseError;
using vecann::type::SparseVector;

namespace vecann::type {

SparseVector* NewSparseVector(int dims, int nnz) {
  // Every sparsevec is made here: none can exceed the type's limits.
  if (dims < 1 || dims > kMaxSparseDims || nnz < 0 || nnz > dims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("sparsevec of %d dimensions with %d non-zero elements is out of range", dims, nnz)));
  }
  CheckSparseNonZero(nnz);
  size_t size = SparseVectorSize(nnz);
  auto* v = static_cast<SparseVector*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = dims;
  v->nnz = nnz;
  return v;
}

void CheckSameSparseDims(const SparseVector* a, const SparseVector* b) {
  if (a->dim != b->dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different sparsevec dimensions %d and %d", a->dim, b->dim)));
  }
}

void CheckSparseNonZero(int nnz) {
  if (nnz > kMaxSparseNonZero) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("sparsevec cannot have more than %d non-zero elements", kMaxSparseNonZero)));
  }
}

}  // namespace vecann::type

namespace {

// The sparsevec a parser filled `indices` and `values` with (palloc'd,
// freed here), checked against the column's typmod.
SparseVector* ParsedSparseVector(int32* indices, float* values, int dims, int nnz, int32 typmod) {
  vecann::type::CheckExpectedDims(typmod, dims);
  SparseVector* v = vecann::type::NewSparseVector(dims, nnz);
  memcpy(v->indices, indices, sizeof(int32) * static_cast<size_t>(nnz));
  memcpy(vecann::type::SparseValues(v), values, sizeof(float) * static_cast<size_t>(nnz));
  pfree(indices);
  pfree(values);
  return v;
}

void ReportBadDims(int64_t dims) {
  if (dims < 1) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec must have at least 1 dimension")));
  }
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                  errmsg("sparsevec cannot have more than %d dimensions", kMaxSparseDims)));
}

}  // namespace

// sparsevec_in(cstring, oid, int4) -> sparsevec
VECANN_FUNCTION(sparsevec_in) {
  const char* text = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);
  auto* indices = static_cast<int32*>(palloc(sizeof(int32) * kMaxSparseNonZero));
  auto* values = static_cast<float*>(palloc(sizeof(float) * kMaxSparseNonZero));
  vecann::codec::SparseParseResult r = vecann::codec::ParseSparsevecText(text, indices, values, kMaxSparseNonZero);
  size_t pos = r.position + 1;  // 1-based for people
  long long index = static_cast<long long>(r.index);
  switch (r.error) {
    case SparseError::kOk:
      break;
    case SparseError::kBadDims:
      ReportBadDims(r.dims);
      break;
    case SparseError::kIndexOutOfRange: {
      // The index as written (it may be too long for any integer type).
      const char* token = text + r.position;
      int len = 0;
      while (token[len] == '-' || token[len] == '+' || (token[len] >= '0' && token[len] <= '9')) ++len;
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec index out of bounds"),
                      errdetail("Index %.*s at position %zu of \"%s\".", len, token, pos, text),
                      r.index < 1 ? errhint("Indices start at 1.")
                                  : errhint("Indices go up to the number of dimensions after the \"/\".")));
      break;
    }
    case SparseError::kUnsorted:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must be in ascending order"),
                      errdetail("Index %lld at position %zu of \"%s\" comes after a larger index.", index, pos, text)));
      break;
    case SparseError::kDuplicate:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must not contain duplicates"),
                      errdetail("Index %lld appears again at position %zu of \"%s\".", index, pos, text)));
      break;
    case SparseError::kTooManyNonZero:
      vecann::type::CheckSparseNonZero(kMaxSparseNonZero + 1);
      break;
    case SparseError::kOutOfRange:
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("\"%s\" is out of range for type sparsevec", vecann::type::NumberAt(text, r.position)),
                      errdetail("At position %zu of \"%s\".", pos, text)));
      break;
    case SparseError::kNaN:
    case SparseError::kInfinite:
      vecann::type::ReportNotFinite(r.error == SparseError::kNaN, "sparsevec",
                                    psprintf("At position %zu of \"%s\".", pos, text));
      break;
    default:  // kMalformed (the binary-only errors cannot come from text)
      ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                      errmsg("invalid input syntax for type sparsevec: \"%s\"", text),
                      errdetail("Unexpected input at position %zu: \"%s\".", pos,
                                vecann::type::PositionHint(text, r.position)),
                      errhint("A sparsevec literal looks like \"{1:0.5,7:2}/10\".")));
      break;
  }
  PG_RETURN_SPARSEVEC_P(ParsedSparseVector(indices, values, static_cast<int>(r.dims), r.nnz, typmod));
}

// sparsevec_out(sparsevec) -> cstring
VECANN_FUNCTION(sparsevec_out) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  char* out = static_cast<char*>(palloc(vecann::codec::FormattedSparsevecMaxBytes(v->nnz)));
  vecann::codec::FormatSparsevecText(v->indices, vecann::type::SparseValues(v), v->nnz, v->dim, out);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(out);
}

// sparsevec_typmod_in(cstring[]) -> int4: the n of sparsevec(n)
VECANN_FUNCTION(sparsevec_typmod_in) {
  PG_RETURN_INT32(vecann::type::DimensionsTypmod(PG_GETARG_ARRAYTYPE_P(0), "sparsevec", kMaxSparseDims));
}

// sparsevec_recv(internal, oid, int4) -> sparsevec
VECANN_FUNCTION(sparsevec_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);
  const auto* data = reinterpret_cast<const uint8_t*>(buf->data + buf->cursor);
  size_t len = static_cast<size_t>(buf->len - buf->cursor);
  auto* indices = static_cast<int32*>(palloc(sizeof(int32) * kMaxSparseNonZero));
  auto* values = static_cast<float*>(palloc(sizeof(float) * kMaxSparseNonZero));
  vecann::codec::SparseParseResult r =
      vecann::codec::ParseSparsevecBinary(data, len, indices, values, kMaxSparseNonZero);
  long long index = static_cast<long long>(r.index);
  int element = r.element + 1;
  switch (r.error) {
    case SparseError::kOk:
      break;
    case SparseError::kTruncated:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary sparsevec is truncated: %zu bytes, need at least 12", len)));
      break;
    case SparseError::kBadDims:
      ReportBadDims(r.dims);
      break;
    case SparseError::kBadNonZeroCount:
      if (r.nnz < 0) {
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec cannot have negative number of elements"),
                        errdetail("The binary value's non-zero count is %d.", r.nnz)));
      }
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("sparsevec cannot have more elements than dimensions"),
                      errdetail("The binary value has %d non-zero elements and %lld dimensions.", r.nnz,
                                static_cast<long long>(r.dims))));
      break;
    case SparseError::kTooManyNonZero:
      vecann::type::CheckSparseNonZero(r.nnz);
      break;
    case SparseError::kBadUnused:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("expected unused to be 0, not %d", r.unused),
                      errdetail("The binary sparsevec's reserved field must be 0.")));
      break;
    case SparseError::kLengthMismatch:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary sparsevec of %d non-zero elements must be %zu bytes, not %zu", r.nnz,
                             vecann::codec::BinarySparsevecBytes(r.nnz), len)));
      break;
    case SparseError::kIndexOutOfRange:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec index out of bounds"),
                      errdetail("Element %d of the binary value has index %lld; a sparsevec of %lld dimensions "
                                "has binary (0-based) indices 0 to %lld.",
                                element, index - 1, static_cast<long long>(r.dims),
                                static_cast<long long>(r.dims) - 1)));
      break;
    case SparseError::kUnsorted:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must be in ascending order"),
                      errdetail("Element %d of the binary value comes after a larger index.", element)));
      break;
    case SparseError::kDuplicate:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("sparsevec indices must not contain duplicates"),
                      errdetail("Element %d of the binary value repeats the index before it.", element)));
      break;
    case SparseError::kNaN:
    case SparseError::kInfinite:
      vecann::type::ReportNotFinite(r.error == SparseError::kNaN, "sparsevec",
                                    psprintf("Element %d of the binary value.", element));
      break;
    case SparseError::kZeroValue:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary sparsevec cannot store a zero value (element %d)", element)));
      break;
    default:  // text-only errors
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION), errmsg("invalid binary sparsevec")));
      break;
  }
  buf->cursor = buf->len;
  PG_RETURN_SPARSEVEC_P(ParsedSparseVector(indices, values, static_cast<int>(r.dims), r.nnz, typmod));
}

// sparsevec_send(sparsevec) -> bytea
VECANN_FUNCTION(sparsevec_send) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  size_t len = vecann::codec::BinarySparsevecBytes(v->nnz);
  bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + len));
  SET_VARSIZE(result, VARHDRSZ + len);
  vecann::codec::WriteSparsevecBinary(v->indices, vecann::type::SparseValues(v), v->nnz, v->dim,
                                      reinterpret_cast<uint8_t*>(VARDATA(result)));
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_BYTEA_P(result);
}

// sparsevec(sparsevec, int4, bool) -> sparsevec: the length coercion behind sparsevec(n)
VECANN_FUNCTION(sparsevec_typmod_cast) {
  SparseVector* v = PG_GETARG_SPARSEVEC_P(0);
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_SPARSEVEC_P(v);
}
