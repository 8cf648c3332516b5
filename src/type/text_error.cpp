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
                      errmsg("invalid input syntax for type %s: \"%s\"", type_name, text),
                      errdetail("Unexpected input at position %zu: \"%s\".", pos, PositionHint(text, r.position)),
                      errhint("A %s literal looks like \"[1,2.5,-3]\".", type_name)));
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
                      errmsg("\"%s\" is out of range for type %s", NumberAt(text, r.position), type_name),
                      range_detail ? errdetail("At position %zu of \"%s\". %s", pos, text, range_detail)
                                   : errdetail("At position %zu of \"%s\".", pos, text)));
      break;
    case codec::TextError::kNaN:
    case codec::TextError::kInfinite:
      ReportNotFinite(r.error == codec::TextError::kNaN, type_name, psprintf("At position %zu of \"%s\".", pos, text));
      break;
  }
}

void ReportNotFinite(bool nan, const char* type_name, const char* detail) {
  ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                  nan ? errmsg("NaN not allowed in %s", type_name) : errmsg("infinite value not allowed in %s", type_name),
                  errdetail("%s", detail)));
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
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("%s must have at least 1 dimension", type_name),
                        errdetail("The binary value's dimension field is %d.", r.dims)));
      }
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("%s cannot have more than %d dimensions", type_name, max_dims)));
      break;
    case codec::BinaryError::kBadUnused:
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("expected unused to be 0, not %d", r.unused),
                      errdetail("The binary %s's reserved field must be 0.", type_name)));
      break;
    case codec::BinaryError::kLengthMismatch:
      ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                      errmsg("binary %s of %d dimensions must be %zu bytes, not %zu", type_name, r.dims,
                             4 + value_bytes * static_cast<size_t>(r.dims), len)));
      break;
    case codec::BinaryError::kNaN:
    case codec::BinaryError::kInfinite:
      ReportNotFinite(r.error == codec::BinaryError::kNaN, type_name,
                      psprintf("Element %d of the binary value.", r.index + 1));
      break;
  }
}

}  // namespace vecann::type
