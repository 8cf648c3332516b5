// Casts of `halfvec`: to and from `vector`, from integer[], real[], double
// precision[] and numeric[], and to real[], double precision[], numeric[] and
// integer[]. Narrowing to half precision rounds to the nearest half; a value
// beyond the half range (65504) is an error, never an infinity.
#include <cmath>

#include "kernels/half_convert.h"
#include "kernels/half.h"
#include "pg/guard.h"
#include "type/halfvec.h"
#include "type/vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
}

using vecann::type::HalfVector;
using vecann::type::Vector;

namespace {

// An array element as a double.
double ElementToDouble(Datum d, Oid elemtype) {
  switch (elemtype) {
    case INT4OID:
      return static_cast<double>(DatumGetInt32(d));
    case FLOAT4OID:
      return static_cast<double>(DatumGetFloat4(d));
    case FLOAT8OID:
      return DatumGetFloat8(d);
    case NUMERICOID:
      return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
    default:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("unsupported array element type %s", format_type_be(elemtype))));
  }
  return 0.0;
}

// The nearest half to x, with errors for NaN, infinity and values beyond the
// half range.
uint16 HalfFromDouble(double x) {
  if (std::isnan(x)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("NaN not allowed in halfvec")));
  }
  if (std::isinf(x)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("infinite value not allowed in halfvec")));
  }
  // Beyond float's range the float conversion would be infinite: report the
  // double itself.
  if (std::fabs(x) > 65520.0) {
    ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                    errmsg("value %g is out of range for type halfvec", x),
                    errdetail("A halfvec holds values of magnitude up to 65504.")));
  }
  return vecann::type::FloatToHalfChecked(static_cast<float>(x));
}

// The halfvec's values as an array of elemtype.
ArrayType* HalfVectorToArray(const HalfVector* v, Oid elemtype) {
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * v->dim));
  for (int i = 0; i < v->dim; ++i) {
    float x = vecann::kernels::HalfToFloat(v->x[i]);
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
      case INT4OID:
        // |x| <= 65504 always fits an integer.
        datums[i] = Int32GetDatum(static_cast<int32>(std::rint(x)));
        break;
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

// array_to_halfvec(anyarray of int4/float4/float8/numeric, int4 typmod, bool) -> halfvec
VECANN_FUNCTION(array_to_halfvec) {
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
  vecann::type::CheckHalfDims(n);
  vecann::type::CheckExpectedDims(typmod, n);
  HalfVector* v = vecann::type::NewHalfVector(n);
  for (int i = 0; i < n; ++i) v->x[i] = HalfFromDouble(ElementToDouble(elems[i], elemtype));
  PG_RETURN_HALFVEC_P(v);
}

VECANN_FUNCTION(halfvec_to_float4) { PG_RETURN_ARRAYTYPE_P(HalfVectorToArray(PG_GETARG_HALFVEC_P(0), FLOAT4OID)); }
VECANN_FUNCTION(halfvec_to_float8) { PG_RETURN_ARRAYTYPE_P(HalfVectorToArray(PG_GETARG_HALFVEC_P(0), FLOAT8OID)); }
VECANN_FUNCTION(halfvec_to_numeric) { PG_RETURN_ARRAYTYPE_P(HalfVectorToArray(PG_GETARG_HALFVEC_P(0), NUMERICOID)); }
VECANN_FUNCTION(halfvec_to_int4) { PG_RETURN_ARRAYTYPE_P(HalfVectorToArray(PG_GETARG_HALFVEC_P(0), INT4OID)); }

// vector_to_halfvec(vector, int4 typmod, bool) -> halfvec: rounds each value
// to the nearest half.
VECANN_FUNCTION(vector_to_halfvec) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  HalfVector* r = vecann::type::NewHalfVector(v->dim);
  for (int i = 0; i < v->dim; ++i) r->x[i] = vecann::type::FloatToHalfChecked(v->x[i]);
  PG_RETURN_HALFVEC_P(r);
}

// halfvec_to_vector(halfvec, int4 typmod, bool) -> vector: exact.
VECANN_FUNCTION(halfvec_to_vector) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  vecann::type::CheckExpectedDims(PG_GETARG_INT32(1), v->dim);
  Vector* r = vecann::type::NewVector(v->dim);
  vecann::kernels::HalfKernels().to_float(v->x, r->x, static_cast<size_t>(v->dim));
  PG_RETURN_VECTOR_P(r);
}
