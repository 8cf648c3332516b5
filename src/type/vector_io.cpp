// Input/output of the `vector` type: text in/out, binary send/recv (pgvector's
// wire format), typmod parsing and the typmod-enforcing cast vector(n).
#include <cmath>

#include "codec/vector_binary.h"
#include "codec/vector_text.h"
#include "pg/guard.h"
#include "type/text_error.h"
#include "type/vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
}

using vecann::codec::kMaxDims;
using vecann::type::Vector;

namespace vecann::type {

Vector* NewVector(int dims) {
  CheckDims(dims);  // every vector is made here: none can exceed the type's limits
  size_t size = VectorSize(dims);
  auto* v = static_cast<Vector*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = static_cast<int16>(dims);
  return v;
}

void CheckDims(int dims) {
  if (dims < 1) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("vector must have at least 1 dimension")));
  }
  if (dims > kMaxDims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("vector cannot have more than %d dimensions", kMaxDims)));
  }
}

void CheckExpectedDims(int typmod, int dims) {
  if (typmod != -1 && typmod != dims) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", typmod, dims)));
  }
}

void CheckSameDims(const Vector* a, const Vector* b) {
  if (a->dim != b->dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different vector dimensions %d and %d", a->dim, b->dim)));
  }
}

void CheckElementFinite(float value) {
  if (std::isnan(value)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in vector")));
  }
  if (std::isinf(value)) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("value out of range: overflow")));
  }
}

}  // namespace vecann::type

namespace {

// The vector a parser filled `values` with (palloc'd, freed here), checked
// against the column's typmod.
Vector* ParsedVector(float* values, int dims, int32 typmod) {
  vecann::type::CheckExpectedDims(typmod, dims);
  Vector* v = vecann::type::NewVector(dims);
  memcpy(v->x, values, sizeof(float) * dims);
  pfree(values);
  return v;
}


}  // namespace

// vector_in(cstring, oid, int4) -> vector
VECANN_FUNCTION(vector_in) {
  const char* text = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);
  float* values = static_cast<float*>(palloc(sizeof(float) * kMaxDims));
  vecann::codec::TextParseResult r = vecann::codec::ParseVectorText(text, values, kMaxDims);
  vecann::type::ReportTextError(r, text, "vector", kMaxDims, nullptr);
  PG_RETURN_VECTOR_P(ParsedVector(values, r.dims, typmod));
}

// vector_out(vector) -> cstring
VECANN_FUNCTION(vector_out) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  char* out = static_cast<char*>(palloc(vecann::codec::FormattedVectorMaxBytes(v->dim)));
  vecann::codec::FormatVectorText(v->x, v->dim, out);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(out);
}

// vector_typmod_in(cstring[]) -> int4: the n of vector(n)
VECANN_FUNCTION(vector_typmod_in) {
  PG_RETURN_INT32(vecann::type::DimensionsTypmod(PG_GETARG_ARRAYTYPE_P(0), "vector", kMaxDims));
}

// vector_recv(internal, oid, int4) -> vector
VECANN_FUNCTION(vector_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);
  const auto* data = reinterpret_cast<const uint8_t*>(buf->data + buf->cursor);
  size_t len = static_cast<size_t>(buf->len - buf->cursor);
  float* values = static_cast<float*>(palloc(sizeof(float) * kMaxDims));
  vecann::codec::BinaryParseResult r = vecann::codec::ParseVectorBinary(data, len, values, kMaxDims);
  vecann::type::ReportBinaryError(r, len, sizeof(float), "vector", kMaxDims);
  buf->cursor = buf->len;
  PG_RETURN_VECTOR_P(ParsedVector(values, r.dims, typmod));
}

// vector_send(vector) -> bytea
VECANN_FUNCTION(vector_send) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  size_t len = vecann::codec::BinaryVectorBytes(v->dim);
  bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + len));
  SET_VARSIZE(result, VARHDRSZ + len);
  vecann::codec::WriteVectorBinary(v->x, v->dim, reinterpret_cast<uint8_t*>(VARDATA(result)));
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_BYTEA_P(result);
}

// vector(vector, int4, bool) -> vector: the length coercion behind vector(n)
VECANN_FUNCTION(vector_typmod_cast) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_VECTOR_P(v);
}
