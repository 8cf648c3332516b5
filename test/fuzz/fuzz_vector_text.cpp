// libFuzzer target for the vector text parser: no input may crash it or make
// it read past the string, and anything it accepts must format and parse
// back to the very same floats.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/vector_limits.h"
#include "codec/vector_text.h"

using vecann::codec::kMaxDims;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);  // adds the NUL
  std::vector<float> values(kMaxDims);
  auto r = vecann::codec::ParseVectorText(text.c_str(), values.data(), kMaxDims);
  if (r.error != vecann::codec::TextError::kOk) {
    if (r.position > text.size()) abort();  // an error must point inside the input
    return 0;
  }
  if (r.dims < 1 || r.dims > kMaxDims) abort();
  std::string out(vecann::codec::FormattedVectorMaxBytes(r.dims), '\0');
  size_t len = vecann::codec::FormatVectorText(values.data(), r.dims, out.data());
  if (len >= out.size()) abort();
  std::vector<float> again(kMaxDims);
  auto r2 = vecann::codec::ParseVectorText(out.c_str(), again.data(), kMaxDims);
  if (r2.error != vecann::codec::TextError::kOk || r2.dims != r.dims) abort();
  if (std::memcmp(values.data(), again.data(), sizeof(float) * r.dims) != 0) abort();
  return 0;
}
