// Parsers and writers of the halfvec text and binary forms (see halfvec.h).
#include "codec/halfvec.h"

#include <charconv>

#include "codec/text_scan.h"
#include "kernels/half_convert.h"

namespace vecann::codec {

using kernels::FloatToHalf;
using kernels::HalfIsFinite;
using kernels::HalfToFloat;

TextParseResult ParseHalfvecText(const char* text, uint16_t* out, int capacity) {
  return ParseBracketList(text, capacity, [out](int i, float value) {
    const uint16_t h = FloatToHalf(value);
    if (!HalfIsFinite(h)) return TextError::kOutOfRange;
    out[i] = h;
    return TextError::kOk;
  });
}

size_t FormatHalfvecText(const uint16_t* values, int dims, char* out) {
  char* p = out;
  *p++ = '[';
  for (int i = 0; i < dims; ++i) {
    if (i > 0) *p++ = ',';
    // The shortest float literal of the half's exact value: it reads back to
    // that float, which is a half, so the text round-trips.
    auto res = std::to_chars(p, p + 16, HalfToFloat(values[i]));
    p = res.ptr;
  }
  *p++ = ']';
  *p = '\0';
  return static_cast<size_t>(p - out);
}

BinaryParseResult ParseHalfvecBinary(const uint8_t* data, size_t len, uint16_t* out, int capacity) {
  if (len < 4) return {BinaryError::kTruncated, 0, 0, 0};
  const int dims = static_cast<int16_t>((data[0] << 8) | data[1]);
  const int unused = static_cast<int16_t>((data[2] << 8) | data[3]);
  if (dims < 1 || dims > capacity) return {BinaryError::kBadDims, dims, 0, 0};
  if (unused != 0) return {BinaryError::kBadUnused, dims, 0, unused};
  if (len != BinaryHalfvecBytes(dims)) return {BinaryError::kLengthMismatch, dims, 0, 0};
  for (int i = 0; i < dims; ++i) {
    const uint8_t* p = data + 4 + 2 * static_cast<size_t>(i);
    const uint16_t h = static_cast<uint16_t>((p[0] << 8) | p[1]);
    if (!HalfIsFinite(h)) return {(h & 0x3ff) != 0 ? BinaryError::kNaN : BinaryError::kInfinite, dims, i, 0};
    out[i] = h;
  }
  return {BinaryError::kOk, dims, 0, 0};
}

void WriteHalfvecBinary(const uint16_t* values, int dims, uint8_t* out) {
  out[0] = static_cast<uint8_t>(static_cast<uint16_t>(dims) >> 8);
  out[1] = static_cast<uint8_t>(dims);
  out[2] = 0;
  out[3] = 0;
  for (int i = 0; i < dims; ++i) {
    out[4 + 2 * static_cast<size_t>(i)] = static_cast<uint8_t>(values[i] >> 8);
    out[5 + 2 * static_cast<size_t>(i)] = static_cast<uint8_t>(values[i]);
  }
}

}  // namespace vecann::codec
