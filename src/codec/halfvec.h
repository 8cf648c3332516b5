// Text and binary forms of a halfvec (IEEE half-precision vector). No
// Postgres headers (fuzzed on its own).
//
// Text: the same literal as a vector, "[1,2.5,-3]". Each number is read as a
// float (as vector input reads it) and rounded to the nearest half, ties to
// even; a value that does not fit a half (magnitude 65520 or more after
// rounding to float) is kOutOfRange. Output prints each half's value as the
// shortest float literal that reads back to it, so text round-trips exactly.
//
// Binary: pgvector's wire format, so client libraries read and write it
// unchanged: int16 dims, int16 unused (must be 0), then dims halves as
// 2-byte IEEE binary16 bit patterns; all big-endian.
#ifndef VECANN_CODEC_HALFVEC_H_
#define VECANN_CODEC_HALFVEC_H_

#include <cstddef>
#include <cstdint>

#include "codec/vector_binary.h"  // BinaryError, BinaryParseResult
#include "codec/vector_text.h"    // TextError, TextParseResult

namespace vecann::codec {

// Parses a NUL-terminated halfvec literal into at most `capacity` halves
// (bit patterns). Errors as ParseVectorText's, plus kOutOfRange for values
// beyond the half range.
TextParseResult ParseHalfvecText(const char* text, uint16_t* out, int capacity);

// Bytes FormatHalfvecText may write for `dims` values, NUL included.
constexpr size_t FormattedHalfvecMaxBytes(int dims) { return FormattedVectorMaxBytes(dims); }

// Writes "[v1,v2,...]" and a NUL into `out` (FormattedHalfvecMaxBytes(dims)
// bytes). Returns the length without the NUL.
size_t FormatHalfvecText(const uint16_t* values, int dims, char* out);

constexpr size_t BinaryHalfvecBytes(int dims) { return 4 + 2 * static_cast<size_t>(dims); }

// Parses exactly `len` bytes; writes at most `capacity` halves to `out`.
// kNaN / kInfinite: a half with all exponent bits set at `index` (NaN when
// its mantissa is not zero).
BinaryParseResult ParseHalfvecBinary(const uint8_t* data, size_t len, uint16_t* out, int capacity);

// Writes BinaryHalfvecBytes(dims) bytes to `out`.
void WriteHalfvecBinary(const uint16_t* values, int dims, uint8_t* out);

}  // namespace vecann::codec

#endif  // VECANN_CODEC_HALFVEC_H_
