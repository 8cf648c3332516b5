// Binary (send/recv) form of a vector, pgvector's wire format, so client
// libraries written for pgvector read and write it unchanged:
//   int16 dims, int16 unused (must be 0), float4 x dims; all big-endian.
// No Postgres headers (fuzzed on its own).
#ifndef VECANN_CODEC_VECTOR_BINARY_H_
#define VECANN_CODEC_VECTOR_BINARY_H_

#include <cstddef>
#include <cstdint>

namespace vecann::codec {

enum class BinaryError {
  kOk,
  kTruncated,      // fewer than 4 header bytes
  kBadDims,        // dims < 1 or > capacity
  kBadUnused,      // the reserved int16 is not 0
  kLengthMismatch, // message length disagrees with dims
  kNaN,            // a NaN at index `index`
  kInfinite,       // an infinity at index `index`
};

struct BinaryParseResult {
  BinaryError error;
  int dims;    // the dims field (also set for kBadDims / kLengthMismatch)
  int index;   // offending value for kNaN / kInfinite
  int unused;  // the reserved field, for kBadUnused
};

constexpr size_t BinaryVectorBytes(int dims) { return 4 + 4 * static_cast<size_t>(dims); }

// Parses exactly `len` bytes; writes at most `capacity` floats to `out`.
BinaryParseResult ParseVectorBinary(const uint8_t* data, size_t len, float* out, int capacity);

// Writes BinaryVectorBytes(dims) bytes to `out`.
void WriteVectorBinary(const float* values, int dims, uint8_t* out);

}  // namespace vecann::codec

#endif  // VECANN_CODEC_VECTOR_BINARY_H_
