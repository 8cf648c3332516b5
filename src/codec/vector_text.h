// Text form of a vector, "[1,2.5,-3]": a parser that reports where input is
// malformed, and a formatter that prints each float in its shortest form that
// reads back to the same float. No Postgres headers (fuzzed on its own).
#ifndef VECANN_CODEC_VECTOR_TEXT_H_
#define VECANN_CODEC_VECTOR_TEXT_H_

#include <cstddef>

namespace vecann::codec {

enum class TextError {
  kOk,
  kMalformed,    // syntax error at `position`
  kEmpty,        // "[]": a vector needs at least one dimension
  kTooManyDims,  // more than the caller's capacity (kMaxDims for SQL input)
  kOutOfRange,   // a value overflows float4; `position` is where it starts
  kNaN,          // NaN; `position` is where it starts
  kInfinite,     // infinity; `position` is where it starts
};

struct TextParseResult {
  TextError error;
  size_t position;  // 0-based byte offset of the offending character
  int dims;         // number of values stored in `out` (valid when kOk)
};

// Parses a NUL-terminated vector literal. Whitespace is allowed around the
// brackets, values and commas. Writes at most `capacity` floats to `out`.
TextParseResult ParseVectorText(const char* text, float* out, int capacity);

// Bytes FormatVectorText may write for `dims` values, NUL included.
constexpr size_t FormattedVectorMaxBytes(int dims) {
  // Each float needs at most 15 chars ("-1.17549435e-38") plus a separator.
  return static_cast<size_t>(dims) * 16 + 3;
}

// Writes "[v1,v2,...]" and a terminating NUL into `out`, which must hold
// FormattedVectorMaxBytes(dims) bytes. Returns the length without the NUL.
size_t FormatVectorText(const float* values, int dims, char* out);

}  // namespace vecann::codec

#endif  // VECANN_CODEC_VECTOR_TEXT_H_
