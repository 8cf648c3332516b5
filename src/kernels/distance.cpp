// SIMD distance kernels over float32 arrays (squared L2, inner product, L1,
// dot + norms), written once with Google Highway and compiled for every
// attainable target of the architecture; Kernels() picks the best one for the
// running CPU once and hands out direct function pointers. See distance.h.
//
// This file is included several times by hwy/foreach_target.h (once per
// target); everything outside `#if HWY_ONCE` is compiled per target.

#include "kernels/distance.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

// Compile every attainable target, including the EMU128 (or SCALAR) fallback,
// even if the baseline flags already imply SSE4 or better: AllRunnableTargets()
// promises the portable baseline, and tests run it. Must precede any hwy header.
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/distance.cpp"  // relative to the src/ include root
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/lane_steps-inl.h"

HWY_BEFORE_NAMESPACE();
namespace vecann::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// sum over i of Step(a[i], b[i]) in float lanes, with four independent
// accumulators (4 vectors per iteration) to hide the add/FMA latency.
template <class Step>
HWY_INLINE float Accumulate(const float* a, const float* b, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const Step step;
  auto acc0 = hn::Zero(d);
  auto acc1 = hn::Zero(d);
  auto acc2 = hn::Zero(d);
  auto acc3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    acc0 = step(hn::LoadU(d, a + i), hn::LoadU(d, b + i), acc0);
    acc1 = step(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), acc1);
    acc2 = step(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), acc2);
    acc3 = step(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), acc3);
  }
  for (; i + N <= n; i += N) {
    acc0 = step(hn::LoadU(d, a + i), hn::LoadU(d, b + i), acc0);
  }
  if (i < n) {
    acc1 = step(LoadTail(d, a + i, n - i), LoadTail(d, b + i, n - i), acc1);
  }
  acc0 = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, acc0));
}

float KSquaredL2(const float* a, const float* b, size_t n) {
  return Accumulate<SquaredL2Step>(a, b, n);
}

float KInnerProduct(const float* a, const float* b, size_t n) {
  return Accumulate<DotStep>(a, b, n);
}

float KNegInnerProduct(const float* a, const float* b, size_t n) {
  return -Accumulate<DotStep>(a, b, n);
}

float KL1(const float* a, const float* b, size_t n) {
  return Accumulate<L1Step>(a, b, n);
}

// Dot product and both squared norms in one pass. Three sums per element, so
// unrolled by 2 only (6 accumulators + 4 loads fit in 16 registers).
DotNorms KDotNorms(const float* a, const float* b, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  auto dot0 = hn::Zero(d), dot1 = hn::Zero(d);
  auto na0 = hn::Zero(d), na1 = hn::Zero(d);
  auto nb0 = hn::Zero(d), nb1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto a0 = hn::LoadU(d, a + i);
    const auto b0 = hn::LoadU(d, b + i);
    const auto a1 = hn::LoadU(d, a + i + N);
    const auto b1 = hn::LoadU(d, b + i + N);
    dot0 = hn::MulAdd(a0, b0, dot0);
    na0 = hn::MulAdd(a0, a0, na0);
    nb0 = hn::MulAdd(b0, b0, nb0);
    dot1 = hn::MulAdd(a1, b1, dot1);
    na1 = hn::MulAdd(a1, a1, na1);
    nb1 = hn::MulAdd(b1, b1, nb1);
  }
  for (; i + N <= n; i += N) {
    const auto a0 = hn::LoadU(d, a + i);
    const auto b0 = hn::LoadU(d, b + i);
    dot0 = hn::MulAdd(a0, b0, dot0);
    na0 = hn::MulAdd(a0, a0, na0);
    nb0 = hn::MulAdd(b0, b0, nb0);
  }
  if (i < n) {
    const auto a1 = LoadTail(d, a + i, n - i);
    const auto b1 = LoadTail(d, b + i, n - i);
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

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace vecann::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "kernels/dispatch.h"

namespace vecann::kernels {

// Dispatch tables: one slot per compiled target (see dispatch.h). We only read
// them to get direct pointers.
HWY_EXPORT(KSquaredL2);
HWY_EXPORT(KInnerProduct);
HWY_EXPORT(KNegInnerProduct);
HWY_EXPORT(KL1);
HWY_EXPORT(KDotNorms);

namespace {

// Table of one target, or false if this file has no code for it.
bool TableAt(size_t index, KernelTable* out) {
  if (index == 0 || index > dispatch::kFallbackIndex) return false;
  KernelTable t;
  t.squared_l2 = HWY_DISPATCH_TABLE(KSquaredL2)[index];
  t.inner_product = HWY_DISPATCH_TABLE(KInnerProduct)[index];
  t.neg_inner_product = HWY_DISPATCH_TABLE(KNegInnerProduct)[index];
  t.l1 = HWY_DISPATCH_TABLE(KL1)[index];
  t.dot_norms = HWY_DISPATCH_TABLE(KDotNorms)[index];
  t.target = dispatch::TargetNameOfIndex(index);
  if (!t.squared_l2 || !t.inner_product || !t.neg_inner_product || !t.l1 ||
      !t.dot_norms) {
    return false;
  }
  *out = t;
  return true;
}

}  // namespace

const KernelTable& Kernels() {
  // Same choice as HWY_DYNAMIC_DISPATCH; thread-safe (C++11 magic static).
  static const KernelTable table = dispatch::ResolveBest<KernelTable>(TableAt);
  return table;
}

std::vector<KernelTable> AllRunnableTargets() {
  return dispatch::AllRunnable<KernelTable>(TableAt);
}

}  // namespace vecann::kernels
#endif  // HWY_ONCE
