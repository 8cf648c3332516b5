// Text and binary forms of a sparsevec (sparse vector: its dimensions and
// the non-zero elements as index/value pairs). No Postgres headers (fuzzed
// on its own).
//
// Text: "{1:0.5,7:2}/10": 1-based indices in strictly increasing order, each
// with its value, then "/" and the number of dimensions. Whitespace is
// allowed around every token. Values of zero are accepted and dropped (they
// are not stored); every index, zero-valued or not, must lie in [1, dims] and
// come after the previous one. Output prints the stored elements the same
// way, each value as its shortest float literal.
//
// Binary: pgvector's wire format, all big-endian: int32 dims, int32 nnz,
// int32 unused (must be 0), nnz int32 indices (0-based, strictly increasing,
// below dims), nnz float4 values (finite, non-zero).
//
// Limits (pgvector's): at most kMaxSparseDims dimensions and
// kMaxSparseNonZero stored elements.
#ifndef VECANN_CODEC_SPARSEVEC_H_
#define VECANN_CODEC_SPARSEVEC_H_

#include <cstddef>
#include <cstdint>

namespace vecann::codec {

constexpr int kMaxSparseDims = 1000000000;
constexpr int kMaxSparseNonZero = 16000;

enum class SparseError {
  kOk,
  kMalformed,        // text: syntax error at `position`
  kBadDims,          // dims < 1 or > kMaxSparseDims (`dims`; text: at `position`)
  kIndexOutOfRange,  // an index below 1 (0 in binary) or above dims: `index` (1-based), element `element`
  kUnsorted,         // an index smaller than the one before it: `index`, element `element`
  kDuplicate,        // an index equal to the one before it: `index`, element `element`
  kTooManyNonZero,   // more than the caller's capacity of non-zero elements (`nnz` in binary)
  kOutOfRange,       // a value overflows float4 (text only), at `position`
  kNaN,              // NaN: text at `position`, binary element `element`
  kInfinite,         // infinity: text at `position`, binary element `element`
  // Binary only:
  kTruncated,        // fewer than 12 header bytes
  kBadUnused,        // the reserved int32 is not 0
  kBadNonZeroCount,  // nnz < 0 or nnz > dims (`nnz`)
  kLengthMismatch,   // message length disagrees with nnz (`nnz`)
  kZeroValue,        // a stored value of zero, element `element`
};

struct SparseParseResult {
  SparseError error;
  size_t position;  // text: 0-based byte offset of the offending token
  int64_t dims;     // the dimensions (valid when kOk; the bad value for kBadDims)
  int nnz;          // stored elements (valid when kOk; the count for binary count errors)
  int64_t index;    // the offending index, 1-based (index errors)
  int element;      // 0-based number of the offending element in the input
  int32_t unused;   // binary: the reserved field, for kBadUnused
};

// Parses a NUL-terminated sparsevec literal. Writes at most `capacity`
// non-zero elements: 0-based indices to `indices`, values to `values`.
SparseParseResult ParseSparsevecText(const char* text, int32_t* indices, float* values, int capacity);

// Bytes FormatSparsevecText may write for nnz elements, NUL included: per
// element a 10-digit index, ':', a 15-character float and ','; then the
// braces, '/', a 10-digit dims and the NUL.
constexpr size_t FormattedSparsevecMaxBytes(int nnz) { return static_cast<size_t>(nnz) * 27 + 14; }

// Writes "{i1:v1,...}/dims" (1-based indices) and a NUL into `out`.
// Returns the length without the NUL.
size_t FormatSparsevecText(const int32_t* indices, const float* values, int nnz, int64_t dims, char* out);

constexpr size_t BinarySparsevecBytes(int nnz) { return 12 + 8 * static_cast<size_t>(nnz); }

// Parses exactly `len` bytes; writes at most `capacity` elements.
SparseParseResult ParseSparsevecBinary(const uint8_t* data, size_t len, int32_t* indices, float* values,
                                       int capacity);

// Writes BinarySparsevecBytes(nnz) bytes to `out`.
void WriteSparsevecBinary(const int32_t* indices, const float* values, int nnz, int64_t dims, uint8_t* out);

}  // namespace vecann::codec

#endif  // VECANN_CODEC_SPARSEVEC_H_
