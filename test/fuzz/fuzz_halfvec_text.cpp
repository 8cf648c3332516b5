// libFuzzer target for the halfvec text parser: no input may crash it or make
// it read past the string, an error must point inside the input, and anything
// it accepts must format and parse back to the very same halves.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/halfvec.h"
#include "codec/vector_limits.h"
#include "kernels/half_convert.h"

using vecann::codec::kMaxDims;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);  // adds the NUL
  std::vector<uint16_t> values(kMaxDims);
  auto r = vecann::codec::ParseHalfvecText(text.c_str(), values.data(), kMaxDims);
  if (r.error != vecann::codec::TextError::kOk) {
    if (r.position > text.size()) abort();
    return 0;
  }
  if (r.dims < 1 || r.dims > kMaxDims) abort();
  for (int i = 0; i < r.dims; ++i) {
    if (!vecann::kernels::HalfIsFinite(values[i])) abort();  // never stores infinity or NaN
  }
  std::string out(vecann::codec::FormattedHalfvecMaxBytes(r.dims), '\0');
  size_t len = vecann::codec::FormatHalfvecText(values.data(), r.dims, out.data());
  if (len >= out.size()) abort();
  std::vector<uint16_t> again(kMaxDims);
  auto r2 = vecann::codec::ParseHalfvecText(out.c_str(), again.data(), kMaxDims);
  if (r2.error != vecann::codec::TextError::kOk || r2.dims != r.dims) abort();
  if (std::memcmp(values.data(), again.data(), sizeof(uint16_t) * r.dims) != 0) abort();
  return 0;
}
