// Input/output of the `halfvec` type: text in/out, binary send/recv
// (pgvector's wire format), typmod parsing, the typmod-enforcing cast
// halfvec(n), and the helpers declared in halfvec.h.
#include <cmath>

#include "codec/halfvec.h"
#include "kernels/half_convert.h"
#include "pg/guard.h"
#include "type/halfvec.h"
#include "type/text_error.h"
#include "type/vector.h"

extern "C" {
#include "libpq/pqformat.h"
}

using vecann::codec::kMaxDims;
using vecann::type::HalfVector;

namespace vecann::type {

HalfVector* NewHalfVector(int dims) {
  CheckHalfDims(dims);  // every halfvec is made here: none can exceed the type's limits
  size_t size = HalfVectorSize(dims);
  auto* v = static_cast<HalfVector*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = static_cast<int16>(dims);
  return v;
}

void CheckHalfDims(int dims) {
  if (dims < 1) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("halfvec must have at least 1 dimension")));
  }
  if (dims > kMaxDims) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("halfvec cannot have more than %d dimensions", kMaxDims)));
  }
}

void CheckSameHalfDims(const HalfVector* a, const HalfVector* b) {
  if (a->dim != b->dim) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different halfvec dimensions %d and %d", a->dim, b->dim)));
  }
}

uint16 FloatToHalfChecked(float x) {
  if (std::isnan(x)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in halfvec")));
  }
  uint16 h = vecann::kernels::FloatToHalf(x);
  if (!vecann::kernels::HalfIsFinite(h)) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("value %g is out of range for type halfvec", static_cast<double>(x)),
                    errdetail("A halfvec holds values of magnitude up to 65504.")));
  }
  return h;
}

}  // namespace vecann::type

namespace {

// The halfvec a parser filled `values` with (palloc'd, freed here), checked
// against the column's typmod.
HalfVector* ParsedHalfVector(uint16* values, int dims, int32 typmod) {
  vecann::type::CheckExpectedDims(typmod, dims);
  HalfVector* v = vecann::type::NewHalfVector(dims);
  memcpy(v->x, values, sizeof(uint16) * dims);
  pfree(values);
  return v;
}

}  // namespace

// halfvec_in(cstring, oid, int4) -> halfvec
VECANN_FUNCTION(halfvec_in) {
  const char* text = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);
  uint16* values = static_cast<uint16*>(palloc(sizeof(uint16) * kMaxDims));
  vecann::codec::TextParseResult r = vecann::codec::ParseHalfvecText(text, values, kMaxDims);
  vecann::type::ReportTextError(r, text, "halfvec", kMaxDims, "A halfvec holds values of magnitude up to 65504.");
  PG_RETURN_HALFVEC_P(ParsedHalfVector(values, r.dims, typmod));
}

// halfvec_out(halfvec) -> cstring
VECANN_FUNCTION(halfvec_out) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  char* out = static_cast<char*>(palloc(vecann::codec::FormattedHalfvecMaxBytes(v->dim)));
  vecann::codec::FormatHalfvecText(v->x, v->dim, out);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(out);
}

// halfvec_typmod_in(cstring[]) -> int4: the n of halfvec(n)
VECANN_FUNCTION(halfvec_typmod_in) {
  PG_RETURN_INT32(vecann::type::DimensionsTypmod(PG_GETARG_ARRAYTYPE_P(0), "halfvec", kMaxDims));
}

// halfvec_recv(internal, oid, int4) -> halfvec
VECANN_FUNCTION(halfvec_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);
  const auto* data = reinterpret_cast<const uint8_t*>(buf->data + buf->cursor);
  size_t len = static_cast<size_t>(buf->len - buf->cursor);
  uint16* values = static_cast<uint16*>(palloc(sizeof(uint16) * kMaxDims));
  vecann::codec::BinaryParseResult r = vecann::codec::ParseHalfvecBinary(data, len, values, kMaxDims);
  vecann::type::ReportBinaryError(r, len, sizeof(uint16), "halfvec", kMaxDims);
  buf->cursor = buf->len;
  PG_RETURN_HALFVEC_P(ParsedHalfVector(values, r.dims, typmod));
}

// halfvec_send(halfvec) -> bytea
VECANN_FUNCTION(halfvec_send) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  size_t len = vecann::codec::BinaryHalfvecBytes(v->dim);
  bytea* result = static_cast<bytea*>(palloc(VARHDRSZ + len));
  SET_VARSIZE(result, VARHDRSZ + len);
  vecann::codec::WriteHalfvecBinary(v->x, v->dim, reinterpret_cast<uint8_t*>(VARDATA(result)));
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_BYTEA_P(result);
}

// halfvec(halfvec, int4, bool) -> halfvec: the length coercion behind halfvec(n)
VECANN_FUNCTION(halfvec_typmod_cast) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_HALFVEC_P(v);
}
