// Type-modifier parsing shared by vector(n), halfvec(n) and sparsevec(n)
// (see text_error.h).
#include "type/text_error.h"

namespace vecann::type {

int32 DimensionsTypmod(ArrayType* modifiers, const char* type_name, int32 max_dims) {
  int n = 0;
  int32* tl = ArrayGetIntegerTypmods(modifiers, &n);
  if (n != 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier"),
                    errdetail("%s takes one modifier, its number of dimensions: %s(3).", type_name, type_name)));
  }
  if (*tl < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type %s must be at least 1", type_name)));
  }
  if (*tl > max_dims) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type %s cannot exceed %d", type_name, max_dims)));
  }
  return *tl;
}

void ReportTextError(const codec::TextParseResult& r, const char* text, const char* type_name, int max_dims,
                     const char* range_detail) {
  size_t pos = r.position + 1;  // 1-based for people
  switch (r.error) {
    case codec::TextError::kOk:
      return;
    case codec::TextError::kMalformed:
      ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                      errmsg("%s literal is malformed at position %zu: \"%s\"", type_name, pos, text),
                      errdetail("Expected a literal like \"[1,2.5,-3]\"; the problem is at \"%s\".",
                                PositionHint(text, r.position))));
      break;
    case codec::TextError::kEmpty:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must have at least 1 dimension", type_name)));
      break;
    case codec::TextError::kTooManyDims:
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("%s cannot have more than %d dimensions", type_name, max_dims)));
      break;
    case codec::TextError::kOutOfRange:
      ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                      errmsg("value at position %zu is out of range for type %s: \"%s\"", pos, type_name, text),
                      range_detail ? errdetail("%s", range_detail) : 0));
      break;
    case codec::TextError::kNotFinite:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("NaN and infinity are not allowed in %s (position %zu): \"%s\"", type_name, pos, text)));
      break;
  }
}

void ReportBinaryError(const codec::BinaryParseResult& r, size_t len, size_t value_bytes, const char* type_name,
                       int max_dims) {
  switch (r.error) {
    case codec::BinaryError::kOk:
      return;
    case codec::BinaryError::kTruncated:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary %s is truncated: %zu bytes, need at least 4", type_name, len)));
      break;
    case codec::BinaryError::kBadDims:
      if (r.dims < 1) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("binary %s has %d dimensions; a %s needs at least 1", type_name, r.dims, type_name)));
      }
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("%s cannot have more than %d dimensions", type_name, max_dims)));
      break;
    case codec::BinaryError::kBadUnused:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary %s's reserved field must be 0", type_name)));
      break;
    case codec::BinaryError::kLengthMismatch:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary %s of %d dimensions must be %zu bytes, not %zu", type_name, r.dims,
                             4 + value_bytes * static_cast<size_t>(r.dims), len)));
      break;
    case codec::BinaryError::kNotFinite:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("NaN and infinity are not allowed in %s (element %d)", type_name, r.index + 1)));
      break;
  }
}

}  // namespace vecann::type
