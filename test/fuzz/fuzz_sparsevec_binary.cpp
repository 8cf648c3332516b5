// libFuzzer target for the sparsevec binary (recv) parser: no message may
// crash it or make it read past the message, and anything it accepts must be
// a valid sparse vector that serializes back to exactly the bytes it came
// from.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "codec/sparsevec.h"

using vecann::codec::kMaxSparseNonZero;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> message(data, data + size);  // exactly `size` bytes, for ASan
  std::vector<int32_t> indices(kMaxSparseNonZero);
  std::vector<float> values(kMaxSparseNonZero);
  auto r = vecann::codec::ParseSparsevecBinary(message.data(), message.size(), indices.data(), values.data(),
                                               kMaxSparseNonZero);
  if (r.error != vecann::codec::SparseError::kOk) return 0;
  if (size != vecann::codec::BinarySparsevecBytes(r.nnz)) abort();
  for (int i = 0; i < r.nnz; ++i) {
    if (indices[i] < 0 || indices[i] >= r.dims || (i > 0 && indices[i] <= indices[i - 1])) abort();
    if (!std::isfinite(values[i]) || values[i] == 0.0f) abort();
  }
  std::vector<uint8_t> out(vecann::codec::BinarySparsevecBytes(r.nnz));
  vecann::codec::WriteSparsevecBinary(indices.data(), values.data(), r.nnz, r.dims, out.data());
  if (std::memcmp(out.data(), message.data(), size) != 0) abort();
  return 0;
}
