// Per-target building blocks shared by the float kernel files (distance.cpp,
// half.cpp, quantize.cpp): the per-lane steps of squared L2, dot product and
// L1, and a fault-free load of a float array's tail. Highway "-inl" header:
// each kernel file includes it after hwy/highway.h, once per target (the
// toggle below re-opens it for every target foreach_target compiles).

// Per-target include guard, as Highway's own -inl headers do it.
#if defined(VECANN_KERNELS_LANE_STEPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef VECANN_KERNELS_LANE_STEPS_INL_H_
#undef VECANN_KERNELS_LANE_STEPS_INL_H_
#else
#define VECANN_KERNELS_LANE_STEPS_INL_H_
#endif

#include <cstddef>
#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace vecann::kernels {
namespace HWY_NAMESPACE {
namespace steps_hn = hwy::HWY_NAMESPACE;

// Loads lanes [0, count) of p and zeroes the others, for the tail of an array
// (0 < count < Lanes(d)). It never touches p[count] or beyond: the arrays may
// end right at the end of a mapped page (Postgres buffers).
template <class D>
HWY_INLINE steps_hn::Vec<D> LoadTail(D d, const float* p, size_t count) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  // AVX2 vmaskmovps and AVX-512 masked loads suppress faults on masked-off
  // lanes, and accept unaligned addresses.
  return steps_hn::MaskedLoad(steps_hn::FirstN(d, count), d, p);
#else
  // Elsewhere (SSE4/SSSE3/EMU128/NEON/...) Highway 1.0.3's MaskedLoad is a full
  // (aligned) load followed by a blend, which could fault, and LoadN does not
  // exist yet; copy the tail into a zeroed aligned buffer instead.
  HWY_ALIGN float buf[steps_hn::MaxLanes(D())] = {};
  std::memcpy(buf, p, count * sizeof(float));
  return steps_hn::Load(d, buf);
#endif
}

// Per-lane steps; all map (0, 0) to a zero contribution, so zero-padded tails
// are harmless.
struct SquaredL2Step {
  template <class V>
  HWY_INLINE V operator()(V a, V b, V acc) const {
    const V diff = steps_hn::Sub(a, b);
    return steps_hn::MulAdd(diff, diff, acc);
  }
};
struct DotStep {
  template <class V>
  HWY_INLINE V operator()(V a, V b, V acc) const {
    return steps_hn::MulAdd(a, b, acc);
  }
};
struct L1Step {
  template <class V>
  HWY_INLINE V operator()(V a, V b, V acc) const {
    return steps_hn::Add(acc, steps_hn::Abs(steps_hn::Sub(a, b)));
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace vecann::kernels
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
