// Parser and formatter for the text form of a vector (see vector_text.h).
// The list syntax and the numbers are scanned by text_scan.h, shared with
// halfvec and sparsevec.
#include "codec/vector_text.h"

#include <charconv>

#include "codec/text_scan.h"

namespace vecann::codec {

TextParseResult ParseVectorText(const char* text, float* out, int capacity) {
  return ParseBracketList(text, capacity, [out](int i, float value) {
    out[i] = value;
    return TextError::kOk;
  });
}

size_t FormatVectorText(const float* values, int dims, char* out) {
  char* p = out;
  *p++ = '[';
  for (int i = 0; i < dims; ++i) {
    if (i > 0) *p++ = ',';
    // Shortest representation that reads back to the same float.
    auto res = std::to_chars(p, p + 16, values[i]);
    p = res.ptr;
  }
  *p++ = ']';
  *p = '\0';
  return static_cast<size_t>(p - out);
}

}  // namespace vecann::codec
