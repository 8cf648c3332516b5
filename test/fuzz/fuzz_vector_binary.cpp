// libFuzzer target for the binary (recv) parser: no message may crash it or
// make it read past the message, and anything it accepts must serialize back
// to exactly the bytes it came from.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/vector_binary.h"
#include "codec/vector_limits.h"

using vecann::codec::kMaxDims;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan catches any read past the end.
  std::vector<uint8_t> message(data, data + size);
  std::vector<float> values(kMaxDims);
  auto r = vecann::codec::ParseVectorBinary(message.data(), message.size(), values.data(), kMaxDims);
  if (r.error != vecann::codec::BinaryError::kOk) return 0;
  if (size != vecann::codec::BinaryVectorBytes(r.dims)) abort();
  std::vector<uint8_t> out(vecann::codec::BinaryVectorBytes(r.dims));
  vecann::codec::WriteVectorBinary(values.data(), r.dims, out.data());
  if (std::memcmp(out.data(), message.data(), size) != 0) abort();
  return 0;
}
