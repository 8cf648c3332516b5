// libFuzzer target for the halfvec binary (recv) parser: no message may crash
// it or make it read past the message, and anything it accepts must serialize
// back to exactly the bytes it came from.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/halfvec.h"
#include "codec/vector_limits.h"

using vecann::codec::kMaxDims;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> message(data, data + size);  // exactly `size` bytes, for ASan
  std::vector<uint16_t> values(kMaxDims);
  auto r = vecann::codec::ParseHalfvecBinary(message.data(), message.size(), values.data(), kMaxDims);
  if (r.error != vecann::codec::BinaryError::kOk) return 0;
  if (size != vecann::codec::BinaryHalfvecBytes(r.dims)) abort();
  std::vector<uint8_t> out(vecann::codec::BinaryHalfvecBytes(r.dims));
  vecann::codec::WriteHalfvecBinary(values.data(), r.dims, out.data());
  if (std::memcmp(out.data(), message.data(), size) != 0) abort();
  return 0;
}
