// Parser and formatter for the text form of a vector (see vector_text.h).
#include "codec/vector_text.h"

#include <charconv>
#include <cmath>

namespace vecann::codec {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char* SkipSpace(const char* p) {
  while (IsSpace(*p)) ++p;
  return p;
}

// Characters that may appear in a decimal float literal (checked before
// calling from_chars so that words like "nan" or "inf" are recognised here).
bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
}

bool StartsWithWordCaseless(const char* p, const char* word) {
  for (; *word; ++p, ++word) {
    char c = *p;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != *word) return false;
  }
  return true;
}

// For a literal that does not fit a float: true when its magnitude is below
// the smallest float (underflow) rather than above the largest (overflow).
bool IsTiny(const char* num, const char* end) {
  double wide = 0.0;
  auto res = std::from_chars(num, end, wide, std::chars_format::general);
  if (res.ec == std::errc()) return std::fabs(wide) < 1.0;
  // Beyond double's range too: the sign of the exponent decides.
  for (const char* q = num; q + 1 < end; ++q) {
    if (*q == 'e' || *q == 'E') return q[1] == '-';
  }
  return false;
}

}  // namespace

TextParseResult ParseVectorText(const char* text, float* out, int capacity) {
  const char* p = SkipSpace(text);
  auto fail = [&](TextError e, const char* where) {
    return TextParseResult{e, static_cast<size_t>(where - text), 0};
  };
  if (*p != '[') return fail(TextError::kMalformed, p);
  ++p;
  p = SkipSpace(p);
  if (*p == ']') {
    const char* end = SkipSpace(p + 1);
    if (*end != '\0') return fail(TextError::kMalformed, end);
    return fail(TextError::kEmpty, p);
  }

  int dims = 0;
  for (;;) {
    p = SkipSpace(p);
    const char* start = p;
    // from_chars takes no leading '+'; accept one as strtof would.
    const char* num = (*p == '+' && p[1] != '-' && p[1] != '+') ? p + 1 : p;
    const char* sign_skipped = (*num == '-') ? num + 1 : num;
    if (StartsWithWordCaseless(sign_skipped, "nan") || StartsWithWordCaseless(sign_skipped, "inf")) {
      return fail(TextError::kNotFinite, start);
    }
    const char* end = num;
    while (IsNumberChar(*end)) ++end;
    if (end == num) return fail(TextError::kMalformed, start);

    float value = 0.0f;
    auto [ptr, ec] = std::from_chars(num, end, value, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) {
      // Overflow is an error; underflow rounds to a signed zero, as strtof does.
      if (!IsTiny(num, end)) return fail(TextError::kOutOfRange, start);
      value = (*num == '-') ? -0.0f : 0.0f;
    } else if (ec != std::errc()) {
      return fail(TextError::kMalformed, start);
    }
    if (ptr != end) return fail(TextError::kMalformed, ptr);
    if (!std::isfinite(value)) return fail(TextError::kNotFinite, start);

    if (dims >= capacity) return fail(TextError::kTooManyDims, start);
    out[dims++] = value;

    p = SkipSpace(end);
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
