// Distance kernels over IEEE half-precision (binary16) arrays, for halfvec.
//
// Halves are passed as their uint16_t bit patterns (the storage format of
// halfvec). Each kernel loads halves, widens them to float32 in registers
// (F16C's vcvtph2ps on AVX2/AVX-512; shifts and masks on SSE4/NEON/EMU128)
// and accumulates in float32 exactly like the float kernels in distance.h.
// Compiled with Google Highway for every attainable target and chosen at run
// time like distance.h (same dispatch, dispatch.h). No Postgres headers.
//
// Inputs must be finite halves (halfvec never stores infinities or NaN).
#ifndef VECANN_KERNELS_HALF_H_
#define VECANN_KERNELS_HALF_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/distance.h"  // DotNorms

namespace vecann::kernels {

using HalfDistanceFn = float (*)(const uint16_t* a, const uint16_t* b, size_t n);
using HalfDotNormsFn = DotNorms (*)(const uint16_t* a, const uint16_t* b, size_t n);
// Widens n halves to floats (exactly).
using HalfToFloatFn = void (*)(const uint16_t* in, float* out, size_t n);

// The half kernels of one SIMD target.
struct HalfKernelTable {
  HalfDistanceFn squared_l2;         // sum (a[i]-b[i])^2
  HalfDistanceFn inner_product;      // sum a[i]*b[i]
  HalfDistanceFn neg_inner_product;  // -sum a[i]*b[i]
  HalfDistanceFn l1;                 // sum |a[i]-b[i]|
  HalfDotNormsFn dot_norms;          // dot, |a|^2, |b|^2
  HalfToFloatFn to_float;            // out[i] = a[i] as float
  const char* target;                // Highway's name of the target
};

// The table for the best target this CPU supports (resolved once, thread-safe).
const HalfKernelTable& HalfKernels();

// One table per target compiled in that this CPU can run, best first.
std::vector<HalfKernelTable> AllRunnableHalfTargets();

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_HALF_H_
