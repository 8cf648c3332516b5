// The float token scanner shared by the text parsers (see text_scan.h).
#include "codec/text_scan.h"

#include <charconv>
#include <cmath>

namespace vecann::codec {
namespace {

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

FloatToken ScanFloat(const char* p) {
  const char* start = p;
  auto fail = [start](TextError e, const char* where) { return FloatToken{e, where, start, 0.0f}; };
  // from_chars takes no leading '+'; accept one as strtof would.
  const char* num = (*p == '+' && p[1] != '-' && p[1] != '+') ? p + 1 : p;
  const char* sign_skipped = (*num == '-') ? num + 1 : num;
  if (StartsWithWordCaseless(sign_skipped, "nan")) return fail(TextError::kNaN, start);
  if (StartsWithWordCaseless(sign_skipped, "inf")) return fail(TextError::kInfinite, start);
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
  if (!std::isfinite(value)) return fail(std::isnan(value) ? TextError::kNaN : TextError::kInfinite, start);
  return FloatToken{TextError::kOk, start, end, value};
}

}  // namespace vecann::codec
