// Popcount kernels over bit strings (see bits.h), written once with Google
// Highway and compiled for every attainable target; BitKernels() picks the
// best one for the running CPU once. Also the scalar binary quantizers.
//
// This file is included several times by hwy/foreach_target.h (once per
// target); everything outside `#if HWY_ONCE` is compiled per target.

#include "kernels/bits.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

// Same targets as distance.cpp (dispatch.h relies on it). Must precede any
// Highway header.
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/bits.cpp"  // relative to the src/ include root
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace vecann::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D8 = hn::ScalableTag<uint8_t>;
using D64 = hn::Repartition<uint64_t, D8>;

// A byte's popcount is at most 8, so a vector of byte counters takes 31
// blocks (248) before it must be widened into the 64-bit totals.
constexpr size_t kBlocksPerWiden = 31;

// Loads bytes [0, count) of p and zeroes the rest (0 < count < Lanes(D8)),
// never touching p[count] or beyond. Zero bytes count nothing under XOR, AND
// and OR of two zero-padded tails.
HWY_INLINE hn::Vec<D8> LoadTail(const uint8_t* p, size_t count) {
  HWY_ALIGN uint8_t buf[hn::MaxLanes(D8())] = {};
  std::memcpy(buf, p, count);
  return hn::Load(D8(), buf);
}

uint64_t KHamming(const uint8_t* a, const uint8_t* b, size_t n) {
  const D8 d8;
  const D64 d64;
  const size_t N = hn::Lanes(d8);
  auto total = hn::Zero(d64);
  size_t i = 0;
  while (i + N <= n) {
    size_t blocks = (n - i) / N;
    if (blocks > kBlocksPerWiden) blocks = kBlocksPerWiden;
    auto counts = hn::Zero(d8);
    for (size_t k = 0; k < blocks; ++k, i += N) {
      counts = hn::Add(counts, hn::PopulationCount(hn::Xor(hn::LoadU(d8, a + i), hn::LoadU(d8, b + i))));
    }
    total = hn::Add(total, hn::SumsOf8(counts));
  }
  if (i < n) {
    const auto x = hn::Xor(LoadTail(a + i, n - i), LoadTail(b + i, n - i));
    total = hn::Add(total, hn::SumsOf8(hn::PopulationCount(x)));
  }
  return hn::GetLane(hn::SumOfLanes(d64, total));
}

AndOrCounts KAndOr(const uint8_t* a, const uint8_t* b, size_t n) {
  const D8 d8;
  const D64 d64;
  const size_t N = hn::Lanes(d8);
  auto total_and = hn::Zero(d64);
  auto total_or = hn::Zero(d64);
  size_t i = 0;
  while (i + N <= n) {
    size_t blocks = (n - i) / N;
    if (blocks > kBlocksPerWiden) blocks = kBlocksPerWiden;
    auto counts_and = hn::Zero(d8);
    auto counts_or = hn::Zero(d8);
    for (size_t k = 0; k < blocks; ++k, i += N) {
      const auto va = hn::LoadU(d8, a + i);
      const auto vb = hn::LoadU(d8, b + i);
      counts_and = hn::Add(counts_and, hn::PopulationCount(hn::And(va, vb)));
      counts_or = hn::Add(counts_or, hn::PopulationCount(hn::Or(va, vb)));
    }
    total_and = hn::Add(total_and, hn::SumsOf8(counts_and));
    total_or = hn::Add(total_or, hn::SumsOf8(counts_or));
  }
  if (i < n) {
    const auto va = LoadTail(a + i, n - i);
    const auto vb = LoadTail(b + i, n - i);
    total_and = hn::Add(total_and, hn::SumsOf8(hn::PopulationCount(hn::And(va, vb))));
    total_or = hn::Add(total_or, hn::SumsOf8(hn::PopulationCount(hn::Or(va, vb))));
  }
  AndOrCounts r;
  r.and_count = hn::GetLane(hn::SumOfLanes(d64, total_and));
  r.or_count = hn::GetLane(hn::SumOfLanes(d64, total_or));
  return r;
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace vecann::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/dispatch.h"

namespace vecann::kernels {

HWY_EXPORT(KHamming);
HWY_EXPORT(KAndOr);

namespace {

bool BitTableAt(size_t index, BitKernelTable* out) {
  if (index == 0 || index > dispatch::kFallbackIndex) return false;
  BitKernelTable t;
  t.hamming = HWY_DISPATCH_TABLE(KHamming)[index];
  t.and_or = HWY_DISPATCH_TABLE(KAndOr)[index];
  t.target = dispatch::TargetNameOfIndex(index);
  if (!t.hamming || !t.and_or) return false;
  *out = t;
  return true;
}

// Packs 8 predicates per byte, first one in the most significant bit.
template <class Positive>
void Quantize(size_t n, uint8_t* out, Positive positive) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    unsigned byte = 0;
    for (size_t k = 0; k < 8; ++k) byte = (byte << 1) | (positive(i + k) ? 1u : 0u);
    *out++ = static_cast<uint8_t>(byte);
  }
  if (i < n) {
    unsigned byte = 0;
    const size_t rest = n - i;
    for (size_t k = 0; k < rest; ++k) byte = (byte << 1) | (positive(i + k) ? 1u : 0u);
    *out = static_cast<uint8_t>(byte << (8 - rest));  // zero padding bits
  }
}

}  // namespace

const BitKernelTable& BitKernels() {
  static const BitKernelTable table = dispatch::ResolveBest<BitKernelTable>(BitTableAt);
  return table;
}

std::vector<BitKernelTable> AllRunnableBitTargets() {
  return dispatch::AllRunnable<BitKernelTable>(BitTableAt);
}

void BinaryQuantize(const float* x, size_t n, uint8_t* out) {
  Quantize(n, out, [x](size_t i) { return x[i] > 0.0f; });
}

void BinaryQuantizeHalf(const uint16_t* x, size_t n, uint8_t* out) {
  // Positive: sign bit clear and some exponent or mantissa bit set.
  Quantize(n, out, [x](size_t i) { return (x[i] & 0x8000u) == 0 && (x[i] & 0x7fffu) != 0; });
}

}  // namespace vecann::kernels
#endif  // HWY_ONCE
