// Parser and writer for pgvector's binary wire format (see vector_binary.h).
#include "codec/vector_binary.h"

#include <cmath>
#include <cstring>

namespace vecann::codec {
namespace {

uint16_t ReadBigEndian16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

void WriteBigEndian32(uint32_t v, uint8_t* p) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace

BinaryParseResult ParseVectorBinary(const uint8_t* data, size_t len, float* out, int capacity) {
  if (len < 4) return {BinaryError::kTruncated, 0, 0, 0};
  int dims = static_cast<int16_t>(ReadBigEndian16(data));
  int unused = static_cast<int16_t>(ReadBigEndian16(data + 2));
  if (dims < 1 || dims > capacity) return {BinaryError::kBadDims, dims, 0, 0};
  if (unused != 0) return {BinaryError::kBadUnused, dims, 0, unused};
  if (len != BinaryVectorBytes(dims)) return {BinaryError::kLengthMismatch, dims, 0, 0};
  for (int i = 0; i < dims; ++i) {
    uint32_t bits = ReadBigEndian32(data + 4 + 4 * static_cast<size_t>(i));
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) return {std::isnan(v) ? BinaryError::kNaN : BinaryError::kInfinite, dims, i, 0};
    out[i] = v;
  }
  return {BinaryError::kOk, dims, 0, 0};
}

void WriteVectorBinary(const float* values, int dims, uint8_t* out) {
  out[0] = static_cast<uint8_t>(static_cast<uint16_t>(dims) >> 8);
  out[1] = static_cast<uint8_t>(dims);
  out[2] = 0;
  out[3] = 0;
  for (int i = 0; i < dims; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    WriteBigEndian32(bits, out + 4 + 4 * static_cast<size_t>(i));
  }
}

}  // namespace vecann::codec
