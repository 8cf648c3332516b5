// SIMD kernels over half-precision arrays (see half.h): squared L2, inner
// product, L1, dot + norms and widening to float, written once with Google
// Highway and compiled for every attainable target; HalfKernels() picks the
// best one for the running CPU once.
//
// This file is included several times by hwy/foreach_target.h (once per
// target); everything outside `#if HWY_ONCE` is compiled per target.

#include "kernels/half.h"

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
#define HWY_TARGET_INCLUDE "kernels/half.cpp"  // relative to the src/ include root
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/lane_steps-inl.h"

HWY_BEFORE_NAMESPACE();
namespace vecann::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Float lanes, and the half lanes that widen into them (half as many bytes).
// Full vector width on every target. Measured on an AMD EPYC (Zen 4), the
// AVX3 target's 512-bit vcvtph2ps makes squared L2 over 1536 halves take
// 105 ns against 80 ns with 256-bit vectors (AVX2, or AVX3 capped at 8
// lanes); on Intel's AVX-512 cores the 512-bit conversion has twice the
// per-element throughput of the 256-bit one, so the cap is not taken here.
using DF = hn::ScalableTag<float>;
using DH = hn::Rebind<hwy::float16_t, DF>;

// Widens Lanes(DF) halves starting at p (any alignment).
HWY_INLINE hn::Vec<DF> LoadHalves(const uint16_t* p) {
  const DF df;
  const DH dh;
  return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
}

// Widens halves [0, count) of p, zero in the other lanes (0 < count <
// Lanes(DF)). Never touches p[count] or beyond: the arrays may end at the end
// of a mapped page. Half bits 0 are +0.0, so zero lanes add nothing.
HWY_INLINE hn::Vec<DF> LoadHalvesTail(const uint16_t* p, size_t count) {
  HWY_ALIGN uint16_t buf[hn::MaxLanes(DF())] = {};
  std::memcpy(buf, p, count * sizeof(uint16_t));
  return LoadHalves(buf);
}

// sum over i of Step(a[i], b[i]) in float lanes, four independent
// accumulators to hide the FMA latency (as distance.cpp does for floats).
template <class Step>
HWY_INLINE float Accumulate(const uint16_t* a, const uint16_t* b, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  const Step step;
  auto acc0 = hn::Zero(d);
  auto acc1 = hn::Zero(d);
  auto acc2 = hn::Zero(d);
  auto acc3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    acc0 = step(LoadHalves(a + i), LoadHalves(b + i), acc0);
    acc1 = step(LoadHalves(a + i + N), LoadHalves(b + i + N), acc1);
    acc2 = step(LoadHalves(a + i + 2 * N), LoadHalves(b + i + 2 * N), acc2);
    acc3 = step(LoadHalves(a + i + 3 * N), LoadHalves(b + i + 3 * N), acc3);
  }
  for (; i + N <= n; i += N) {
    acc0 = step(LoadHalves(a + i), LoadHalves(b + i), acc0);
  }
  if (i < n) {
    acc1 = step(LoadHalvesTail(a + i, n - i), LoadHalvesTail(b + i, n - i), acc1);
  }
  acc0 = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, acc0));
}

float KHalfSquaredL2(const uint16_t* a, const uint16_t* b, size_t n) {
  return Accumulate<SquaredL2Step>(a, b, n);
}

float KHalfInnerProduct(const uint16_t* a, const uint16_t* b, size_t n) {
  return Accumulate<DotStep>(a, b, n);
}

float KHalfNegInnerProduct(const uint16_t* a, const uint16_t* b, size_t n) {
  return -Accumulate<DotStep>(a, b, n);
}

float KHalfL1(const uint16_t* a, const uint16_t* b, size_t n) {
  return Accumulate<L1Step>(a, b, n);
}

DotNorms KHalfDotNorms(const uint16_t* a, const uint16_t* b, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  auto dot0 = hn::Zero(d), dot1 = hn::Zero(d);
  auto na0 = hn::Zero(d), na1 = hn::Zero(d);
  auto nb0 = hn::Zero(d), nb1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a0 = LoadHalves(a + i);
    const auto b0 = LoadHalves(b + i);
    const auto a1 = LoadHalves(a + i + N);
    const auto b1 = LoadHalves(b + i + N);
    dot0 = hn::MulAdd(a0, b0, dot0);
    na0 = hn::MulAdd(a0, a0, na0);
    nb0 = hn::MulAdd(b0, b0, nb0);
    dot1 = hn::MulAdd(a1, b1, dot1);
    na1 = hn::MulAdd(a1, a1, na1);
    nb1 = hn::MulAdd(b1, b1, nb1);
  }
  for (; i + N <= n; i += N) {
    const auto a0 = LoadHalves(a + i);
    const auto b0 = LoadHalves(b + i);
    dot0 = hn::MulAdd(a0, b0, dot0);
    na0 = hn::MulAdd(a0, a0, na0);
    nb0 = hn::MulAdd(b0, b0, nb0);
  }
  if (i < n) {
    const auto a1 = LoadHalvesTail(a + i, n - i);
    const auto b1 = LoadHalvesTail(b + i, n - i);
    dot1 = hn::MulAdd(a1, b1, dot1);
    na1 = hn::MulAdd(a1, a1, na1);
    nb1 = hn::MulAdd(b1, b1, nb1);
  }
  DotNorms r;
  r.dot = hn::GetLane(hn::SumOfLanes(d, hn::Add(dot0, dot1)));
  r.norm_a = hn::GetLane(hn::SumOfLanes(d, hn::Add(na0, na1)));
  r.norm_b = hn::GetLane(hn::SumOfLanes(d, hn::Add(nb0, nb1)));
  return r;
}

void KHalfToFloat(const uint16_t* in, float* out, size_t n) {
  const DF d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(LoadHalves(in + i), d, out + i);
  if (i < n) {
    HWY_ALIGN float buf[hn::MaxLanes(DF())];
    hn::Store(LoadHalvesTail(in + i, n - i), d, buf);
    std::memcpy(out + i, buf, (n - i) * sizeof(float));
  }
}

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace vecann::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/dispatch.h"

namespace vecann::kernels {

HWY_EXPORT(KHalfSquaredL2);
HWY_EXPORT(KHalfInnerProduct);
HWY_EXPORT(KHalfNegInnerProduct);
HWY_EXPORT(KHalfL1);
HWY_EXPORT(KHalfDotNorms);
HWY_EXPORT(KHalfToFloat);

namespace {

bool HalfTableAt(size_t index, HalfKernelTable* out) {
  if (index == 0 || index > dispatch::kFallbackIndex) return false;
  HalfKernelTable t;
  t.squared_l2 = HWY_DISPATCH_TABLE(KHalfSquaredL2)[index];
  t.inner_product = HWY_DISPATCH_TABLE(KHalfInnerProduct)[index];
  t.neg_inner_product = HWY_DISPATCH_TABLE(KHalfNegInnerProduct)[index];
  t.l1 = HWY_DISPATCH_TABLE(KHalfL1)[index];
  t.dot_norms = HWY_DISPATCH_TABLE(KHalfDotNorms)[index];
  t.to_float = HWY_DISPATCH_TABLE(KHalfToFloat)[index];
  t.target = dispatch::TargetNameOfIndex(index);
  if (!t.squared_l2 || !t.inner_product || !t.neg_inner_product || !t.l1 ||
      !t.dot_norms || !t.to_float) {
    return false;
  }
  *out = t;
  return true;
}

}  // namespace

const HalfKernelTable& HalfKernels() {
  static const HalfKernelTable table = dispatch::ResolveBest<HalfKernelTable>(HalfTableAt);
  return table;
}

std::vector<HalfKernelTable> AllRunnableHalfTargets() {
  return dispatch::AllRunnable<HalfKernelTable>(HalfTableAt);
}

}  // namespace vecann::kernels
#endif  // HWY_ONCE
