// Kernels over bit strings (Postgres `bit(n)` data, binary-quantized
// vectors): Hamming distance and the intersection/union counts behind Jaccard
// distance, by population count. Written with Google Highway and chosen at
// run time like distance.h: a per-byte popcount (a nibble table lookup with
// pshufb/tbl, or vpopcntb on Highway targets that have it) accumulated in
// byte lanes and widened into 64-bit lanes every 31 vectors. No Postgres
// headers.
//
// Inputs are byte arrays of the same length; bits past the declared bit
// length must be zero in both (Postgres keeps the padding bits of a bit
// string zero).
//
// BinaryQuantize packs a float/half array into bits (1 where the value > 0),
// first value in the most significant bit of the first byte, as Postgres
// orders the bits of a bit string.
#ifndef VECANN_KERNELS_BITS_H_
#define VECANN_KERNELS_BITS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vecann::kernels {

// Bits set in a AND b, and in a OR b.
struct AndOrCounts {
  uint64_t and_count;
  uint64_t or_count;
};

using HammingFn = uint64_t (*)(const uint8_t* a, const uint8_t* b, size_t nbytes);
using AndOrFn = AndOrCounts (*)(const uint8_t* a, const uint8_t* b, size_t nbytes);

struct BitKernelTable {
  HammingFn hamming;  // popcount(a XOR b)
  AndOrFn and_or;     // popcount(a AND b), popcount(a OR b)
  const char* target;
};

// The table for the best target this CPU supports (resolved once, thread-safe).
const BitKernelTable& BitKernels();

// One table per target compiled in that this CPU can run, best first.
std::vector<BitKernelTable> AllRunnableBitTargets();

// Jaccard distance from the counts: 1 - |a AND b| / |a OR b|; 1 when no bit
// is set in both (pgvector's convention, which also covers two empty sets).
inline double JaccardDistance(AndOrCounts c) {
  if (c.and_count == 0) return 1.0;
  return 1.0 - static_cast<double>(c.and_count) / static_cast<double>(c.or_count);
}

// Bytes needed for n bits.
constexpr size_t BitBytes(size_t nbits) { return (nbits + 7) / 8; }

// out[BitBytes(n)] = bits of (x[i] > 0), most significant bit first; the
// padding bits of the last byte are zero.
void BinaryQuantize(const float* x, size_t n, uint8_t* out);
// The same for halves (uint16_t bit patterns): positive means sign bit clear
// and not zero. NaN halves never occur in halfvec.
void BinaryQuantizeHalf(const uint16_t* x, size_t n, uint8_t* out);

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_BITS_H_
