// libFuzzer target for the sparsevec text parser: no input may crash it or
// make it read past the string, an error must point inside the input, and
// anything it accepts must be a valid sparse vector (indices strictly
// increasing and below dims, values finite and non-zero) that formats and
// parses back to the very same elements.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codec/sparsevec.h"

using vecann::codec::kMaxSparseNonZero;
using vecann::codec::SparseError;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);  // adds the NUL
  std::vector<int32_t> indices(kMaxSparseNonZero);
  std::vector<float> values(kMaxSparseNonZero);
  auto r = vecann::codec::ParseSparsevecText(text.c_str(), indices.data(), values.data(), kMaxSparseNonZero);
  if (r.error != SparseError::kOk) {
    if (r.position > text.size()) abort();
    return 0;
  }
  if (r.dims < 1 || r.dims > vecann::codec::kMaxSparseDims || r.nnz < 0 || r.nnz > kMaxSparseNonZero) abort();
  for (int i = 0; i < r.nnz; ++i) {
    if (indices[i] < 0 || indices[i] >= r.dims || (i > 0 && indices[i] <= indices[i - 1])) abort();
    if (!std::isfinite(values[i]) || values[i] == 0.0f) abort();
  }
  std::string out(vecann::codec::FormattedSparsevecMaxBytes(r.nnz), '\0');
  size_t len = vecann::codec::FormatSparsevecText(indices.data(), values.data(), r.nnz, r.dims, out.data());
  if (len >= out.size()) abort();
  std::vector<int32_t> indices2(kMaxSparseNonZero);
  std::vector<float> values2(kMaxSparseNonZero);
  auto r2 = vecann::codec::ParseSparsevecText(out.c_str(), indices2.data(), values2.data(), kMaxSparseNonZero);
  if (r2.error != SparseError::kOk || r2.dims != r.dims || r2.nnz != r.nnz) abort();
  if (std::memcmp(indices.data(), indices2.data(), sizeof(int32_t) * r.nnz) != 0) abort();
  if (std::memcmp(values.data(), values2.data(), sizeof(float) * r.nnz) != 0) abort();
  return 0;
}
