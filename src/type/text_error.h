// Helpers shared by the type input functions of vector, halfvec and
// sparsevec for their error messages and type modifiers (glue code: uses
// Postgres headers).
#ifndef VECANN_TYPE_TEXT_ERROR_H_
#define VECANN_TYPE_TEXT_ERROR_H_

#include "codec/vector_binary.h"
#include "codec/vector_text.h"
#include "pg/pg_headers.h"

extern "C" {
#include "utils/array.h"
}

namespace vecann::type {

// The literal with ">>" inserted at the offending byte, for error details.
inline const char* PositionHint(const char* text, size_t position) {
  size_t len = strlen(text);
  if (position > len) position = len;
  return psprintf("%.*s>>%s", static_cast<int>(position), text, text + position);
}

// The number written at `position` of a literal (up to the next separator), for messages.
inline const char* NumberAt(const char* text, size_t position) {
  size_t len = strlen(text);
  if (position > len) position = len;
  size_t end = position;
  while (end < len && !strchr(",:]}[{/ \t\n\r\v\f", text[end])) ++end;
  return pnstrdup(text + position, end - position);
}

// Raises pgvector's error for a NaN (nan) or infinite value in a type_name,
// with detail saying where.
[[noreturn]] void ReportNotFinite(bool nan, const char* type_name, const char* detail);

// The n of type_name(n): exactly one modifier, 1 <= n <= max_dims.
int32 DimensionsTypmod(ArrayType* modifiers, const char* type_name, int32 max_dims);

// Raises the error for a failed text parse of a dense vector literal of
// type_name; range_detail (or nullptr) explains the type's value range.
// Returns only for kOk.
void ReportTextError(const codec::TextParseResult& r, const char* text, const char* type_name, int max_dims,
                     const char* range_detail);

// Raises the error for a failed binary (recv) parse of a dense type in
// pgvector's wire format (int16 dims, int16 0, dims values of value_bytes);
// returns only for kOk.
void ReportBinaryError(const codec::BinaryParseResult& r, size_t len, size_t value_bytes, const char* type_name,
                       int max_dims);

}  // namespace vecann::type

#endif  // VECANN_TYPE_TEXT_ERROR_H_
