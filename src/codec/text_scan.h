// Scanning helpers shared by the text parsers of vector, halfvec and
// sparsevec literals: whitespace as Postgres' scanner sees it, and one float
// token with the same rules for all three types (strtof's syntax without hex,
// NaN and infinity recognised so they can be rejected by name, overflow an
// error, underflow a signed zero). No Postgres headers.
#ifndef VECANN_CODEC_TEXT_SCAN_H_
#define VECANN_CODEC_TEXT_SCAN_H_

#include "codec/vector_text.h"  // TextError

namespace vecann::codec {

inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline const char* SkipSpace(const char* p) {
  while (IsSpace(*p)) ++p;
  return p;
}

// One float token starting at p (no leading whitespace).
struct FloatToken {
  TextError error;    // kOk, kMalformed, kOutOfRange, kNaN or kInfinite
  const char* where;  // the offending character when error != kOk
  const char* end;    // first character after the token when kOk
  float value;        // when kOk
};

// Reads the longest run of number characters at p as a float. Errors:
// kNaN for "nan", kInfinite for "inf..." (any case, optional sign), kOutOfRange for a
// magnitude above FLT_MAX, kMalformed for anything else that is not a number.
FloatToken ScanFloat(const char* p);

// Parses a NUL-terminated list literal "[v1,v2,...]" (whitespace allowed
// around brackets, values and commas) of at most `capacity` values, handing
// each value to store(index, value), which returns kOk or an error (such as
// kOutOfRange for a type narrower than float) reported at that value.
template <class Store>
TextParseResult ParseBracketList(const char* text, int capacity, Store store) {
  const char* p = SkipSpace(text);
  auto fail = [text](TextError e, const char* where) {
    return TextParseResult{e, static_cast<size_t>(where - text), 0};
  };
  if (*p != '[') return fail(TextError::kMalformed, p);
  p = SkipSpace(p + 1);
  if (*p == ']') {
    const char* end = SkipSpace(p + 1);
    if (*end != '\0') return fail(TextError::kMalformed, end);
    return fail(TextError::kEmpty, p);
  }
  int dims = 0;
  for (;;) {
    p = SkipSpace(p);
    const char* start = p;
    const FloatToken token = ScanFloat(p);
    if (token.error != TextError::kOk) return fail(token.error, token.where);
    if (dims >= capacity) return fail(TextError::kTooManyDims, start);
    const TextError stored = store(dims, token.value);
    if (stored != TextError::kOk) return fail(stored, start);
    ++dims;

    p = SkipSpace(token.end);
    if (*p == ',') {
      ++p;
      continue;
    }
    if (*p == ']') {
      const char* rest = SkipSpace(p + 1);
      if (*rest != '\0') return fail(TextError::kMalformed, rest);
      return TextParseResult{TextError::kOk, 0, dims};
    }
    return fail(TextError::kMalformed, p);
  }
}

}  // namespace vecann::codec

#endif  // VECANN_CODEC_TEXT_SCAN_H_
