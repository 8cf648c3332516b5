// Casts between `vector` and Postgres arrays: from integer[], real[],
// double precision[] and numeric[]; to real[], double precision[], numeric[]
// and integer[]. Every cast checks dimensions, NULLs and finiteness.
#include <cfloat>
#include <cmath>

#include "pg/guard.h"
#include "type/vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
}

using vecann::type::Vector;

namespace {

float ElementToFloat(Datum d, Oid elemtype) {
  switch (elemtype) {
    case INT4OID:
      return static_cast<float>(DatumGetInt32(d));
    case FLOAT8OID: {
      double x = DatumGetFloat8(d);
      if (std::isfinite(x) && std::fabs(x) > static_cast<double>(FLT_MAX)) {
        ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                        errmsg("value %g is out of range for type vector", x)));
      }
      return static_cast<float>(x);
    }
    case FLOAT4OID:
      return DatumGetFloat4(d);
    case NUMERICOID:
      return DatumGetFloat4(DirectFunctionCall1(numeric_float4, d));
    default:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("unsupported array element type %s", format_type_be(elemtype))));
  }
  return 0.0f;
}

ArrayType* VectorToArray(const Vector* v, Oid elemtype) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
  for (int i = 0; i < v->dim; ++i) {
    float x = v->x[i];
    switch (elemtype) {
      case FLOAT4OID:
        datums[i] = Float4GetDatum(x);
        break;
      case FLOAT8OID:
        datums[i] = Float8GetDatum(static_cast<double>(x));
        break;
      case NUMERICOID:
        datums[i] = DirectFunctionCall1(float4_numeric, Float4GetDatum(x));
        break;
      case INT4OID: {
        float r = std::rint(x);
        if (!(r >= -2147483648.0f && r < 2147483648.0f)) {
          ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE), errmsg("integer out of range")));
        }
        datums[i] = Int32GetDatum(static_cast<int32>(r));
        break;
      }
      default:
        break;
    }
  }
  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
  return construct_array(datums, v->dim, elemtype, typlen, typbyval, typalign);
}

}  // namespace

// array_to_vector(anyarray of int4/float4/float8/numeric, int4 typmod, bool) -> vector
VECANN_FUNCTION(array_to_vector) {
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  Oid elemtype = ARR_ELEMTYPE(array);
  if (ARR_NDIM(array) > 1) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("array must be 1-D")));
  }
  if (ARR_HASNULL(array) && array_contains_nulls(array)) {
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("array must not contain nulls")));
  }
  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
  Datum* elems;
  int n;
  deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, nullptr, &n);
  vecann::type::CheckDims(n);
  vecann::type::CheckExpectedDims(typmod, n);
  Vector* v = vecann::type::NewVector(n);
  for (int i = 0; i < n; ++i) {
    float x = ElementToFloat(elems[i], elemtype);
    if (std::isnan(x)) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in vector")));
    }
    if (std::isinf(x)) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in vector")));
    }
    v->x[i] = x;
  }
  PG_RETURN_VECTOR_P(v);
}

VECANN_FUNCTION(vector_to_float4) { PG_RETURN_ARRAYTYPE_P(VectorToArray(PG_GETARG_VECTOR_P(0), FLOAT4OID)); }
VECANN_FUNCTION(vector_to_float8) { PG_RETURN_ARRAYTYPE_P(VectorToArray(PG_GETARG_VECTOR_P(0), FLOAT8OID)); }
VECANN_FUNCTION(vector_to_numeric) { PG_RETURN_ARRAYTYPE_P(VectorToArray(PG_GETARG_VECTOR_P(0), NUMERICOID)); }
VECANN_FUNCTION(vector_to_int4) { PG_RETURN_ARRAYTYPE_P(VectorToArray(PG_GETARG_VECTOR_P(0), INT4OID)); }
