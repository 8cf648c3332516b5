// Parsers and writers of the sparsevec text and binary forms (see
// sparsevec.h).
#include "codec/sparsevec.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "codec/text_scan.h"

namespace vecann::codec {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// An integer token: an optional sign, then decimal digits. The value
// saturates far above any limit, so huge literals compare as too large.
struct IntToken {
  bool ok;
  const char* end;
  int64_t value;
};

IntToken ScanInt(const char* p) {
  const char* q = p;
  bool negative = false;
  if (*q == '+' || *q == '-') negative = *q++ == '-';
  if (!IsDigit(*q)) return {false, p, 0};
  int64_t v = 0;
  for (; IsDigit(*q); ++q) {
    if (v < 1000000000000000LL) v = v * 10 + (*q - '0');
  }
  return {true, q, negative ? -v : v};
}

bool ValidDims(int64_t dims) { return dims >= 1 && dims <= kMaxSparseDims; }

// The dims at the end of a literal ("... / 10  "), or -1 when the literal
// does not end that way or they are out of range. Read first, so that every
// index can be checked against them as it is read and errors come out in
// the order of the text.
int64_t TrailingDims(const char* text) {
  const char* end = text + std::strlen(text);
  while (end > text && IsSpace(end[-1])) --end;
  const char* digits = end;
  while (digits > text && IsDigit(digits[-1])) --digits;
  if (digits == end) return -1;
  const char* start = digits;
  if (start > text && (start[-1] == '+' || start[-1] == '-')) --start;
  const char* slash = start;
  while (slash > text && IsSpace(slash[-1])) --slash;
  if (slash == text || slash[-1] != '/') return -1;
  const IntToken dims = ScanInt(start);
  return dims.ok && ValidDims(dims.value) ? dims.value : -1;
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

SparseParseResult ParseSparsevecText(const char* text, int32_t* indices, float* values, int capacity) {
  int nnz = 0;
  int element = 0;
  auto fail = [&](SparseError e, const char* where, int64_t index = 0) {
    return SparseParseResult{e, static_cast<size_t>(where - text), 0, nnz, index, element, 0};
  };
  const int64_t known_dims = TrailingDims(text);

  const char* p = SkipSpace(text);
  if (*p != '{') return fail(SparseError::kMalformed, p);
  p = SkipSpace(p + 1);
  int64_t previous = 0;
  if (*p != '}') {
    for (;;) {
      p = SkipSpace(p);
      const char* index_at = p;
      const IntToken index = ScanInt(p);
      if (!index.ok) return fail(SparseError::kMalformed, p);
      p = SkipSpace(index.end);
      if (*p != ':') return fail(SparseError::kMalformed, p);
      p = SkipSpace(p + 1);
      const FloatToken value = ScanFloat(p);
      switch (value.error) {
        case TextError::kOk:
          break;
        case TextError::kOutOfRange:
          return fail(SparseError::kOutOfRange, value.where);
        case TextError::kNaN:
          return fail(SparseError::kNaN, value.where);
        case TextError::kInfinite:
          return fail(SparseError::kInfinite, value.where);
        default:
          return fail(SparseError::kMalformed, value.where);
      }
      if (index.value < 1 || (known_dims > 0 && index.value > known_dims)) {
        return fail(SparseError::kIndexOutOfRange, index_at, index.value);
      }
      if (element > 0 && index.value <= previous) {
        return fail(index.value == previous ? SparseError::kDuplicate : SparseError::kUnsorted, index_at,
                    index.value);
      }
      previous = index.value;
      if (value.value != 0.0f) {  // zeros (either sign) are not stored
        if (nnz >= capacity) return fail(SparseError::kTooManyNonZero, index_at, index.value);
        indices[nnz] = static_cast<int32_t>(index.value - 1);
        values[nnz] = value.value;
        ++nnz;
      }
      ++element;
      p = SkipSpace(value.end);
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '}') break;
      return fail(SparseError::kMalformed, p);
    }
  }
  p = SkipSpace(p + 1);  // past '}'
  if (*p != '/') return fail(SparseError::kMalformed, p);
  p = SkipSpace(p + 1);
  const char* dims_at = p;
  const IntToken dims = ScanInt(p);
  if (!dims.ok) return fail(SparseError::kMalformed, p);
  p = SkipSpace(dims.end);
  if (*p != '\0') return fail(SparseError::kMalformed, p);
  if (!ValidDims(dims.value)) {
    SparseParseResult r = fail(SparseError::kBadDims, dims_at);
    r.dims = dims.value;
    return r;
  }
  // known_dims equals dims.value here: the forward parse ended at the same
  // trailing token TrailingDims read, so every index was checked.
  return SparseParseResult{SparseError::kOk, 0, dims.value, nnz, 0, 0, 0};
}

size_t FormatSparsevecText(const int32_t* indices, const float* values, int nnz, int64_t dims, char* out) {
  char* p = out;
  *p++ = '{';
  for (int i = 0; i < nnz; ++i) {
    if (i > 0) *p++ = ',';
    p = std::to_chars(p, p + 11, static_cast<int64_t>(indices[i]) + 1).ptr;
    *p++ = ':';
    p = std::to_chars(p, p + 16, values[i]).ptr;
  }
  *p++ = '}';
  *p++ = '/';
  p = std::to_chars(p, p + 11, dims).ptr;
  *p = '\0';
  return static_cast<size_t>(p - out);
}

SparseParseResult ParseSparsevecBinary(const uint8_t* data, size_t len, int32_t* indices, float* values,
                                       int capacity) {
  SparseParseResult r{SparseError::kOk, 0, 0, 0, 0, 0, 0};
  if (len < 12) {
    r.error = SparseError::kTruncated;
    return r;
  }
  r.dims = static_cast<int32_t>(ReadBigEndian32(data));
  const int32_t nnz = static_cast<int32_t>(ReadBigEndian32(data + 4));
  const int32_t unused = static_cast<int32_t>(ReadBigEndian32(data + 8));
  r.nnz = nnz;
  if (!ValidDims(r.dims)) {
    r.error = SparseError::kBadDims;
    return r;
  }
  if (nnz < 0 || nnz > r.dims) {
    r.error = SparseError::kBadNonZeroCount;
    return r;
  }
  if (nnz > capacity) {
    r.error = SparseError::kTooManyNonZero;
    return r;
  }
  if (unused != 0) {
    r.error = SparseError::kBadUnused;
    r.unused = unused;
    return r;
  }
  if (len != BinarySparsevecBytes(nnz)) {
    r.error = SparseError::kLengthMismatch;
    return r;
  }
  const uint8_t* index_bytes = data + 12;
  const uint8_t* value_bytes = index_bytes + 4 * static_cast<size_t>(nnz);
  for (int i = 0; i < nnz; ++i) {
    const int32_t index = static_cast<int32_t>(ReadBigEndian32(index_bytes + 4 * static_cast<size_t>(i)));
    r.element = i;
    r.index = static_cast<int64_t>(index) + 1;
    if (index < 0 || index >= r.dims) {
      r.error = SparseError::kIndexOutOfRange;
      return r;
    }
    if (i > 0 && index <= indices[i - 1]) {
      r.error = index == indices[i - 1] ? SparseError::kDuplicate : SparseError::kUnsorted;
      return r;
    }
    indices[i] = index;
  }
  for (int i = 0; i < nnz; ++i) {
    const uint32_t bits = ReadBigEndian32(value_bytes + 4 * static_cast<size_t>(i));
    float v;
    std::memcpy(&v, &bits, sizeof v);
    r.element = i;
    r.index = static_cast<int64_t>(indices[i]) + 1;
    if (!std::isfinite(v)) {
      r.error = std::isnan(v) ? SparseError::kNaN : SparseError::kInfinite;
      return r;
    }
    if (v == 0.0f) {
      r.error = SparseError::kZeroValue;
      return r;
    }
    values[i] = v;
  }
  r.element = 0;
  r.index = 0;
  return r;
}

void WriteSparsevecBinary(const int32_t* indices, const float* values, int nnz, int64_t dims, uint8_t* out) {
  WriteBigEndian32(static_cast<uint32_t>(dims), out);
  WriteBigEndian32(static_cast<uint32_t>(nnz), out + 4);
  WriteBigEndian32(0, out + 8);
  uint8_t* index_bytes = out + 12;
  uint8_t* value_bytes = index_bytes + 4 * static_cast<size_t>(nnz);
  for (int i = 0; i < nnz; ++i) {
    WriteBigEndian32(static_cast<uint32_t>(indices[i]), index_bytes + 4 * static_cast<size_t>(i));
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof bits);
    WriteBigEndian32(bits, value_bytes + 4 * static_cast<size_t>(i));
  }
}

}  // namespace vecann::codec
