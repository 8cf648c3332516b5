// Distance kernels over contiguous float32 arrays.
//
// Each kernel is written once with Google Highway and compiled for every SIMD
// target Highway supports on this architecture (AVX-512, AVX2, SSE4, NEON, ...);
// the best one for the running CPU is chosen at run time, so one binary runs
// everywhere. No Postgres headers here: the glue and the HNSW core both call in.
//
// Hot paths (index search) resolve a function pointer once with Kernels() and
// call through it; SQL functions may call the named wrappers.
#ifndef VECANN_KERNELS_DISTANCE_H_
#define VECANN_KERNELS_DISTANCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vecann::kernels {

// A distance (or similarity) between two float32 arrays of length n (n >= 1).
using DistanceFn = float (*)(const float* a, const float* b, size_t n);

// Dot product and both squared norms in one pass (for cosine distance).
struct DotNorms {
  float dot;
  float norm_a;  // sum of a[i]^2
  float norm_b;  // sum of b[i]^2
};
using DotNormsFn = DotNorms (*)(const float* a, const float* b, size_t n);

// The kernels of one SIMD target.
struct KernelTable {
  DistanceFn squared_l2;     // sum (a[i]-b[i])^2
  DistanceFn inner_product;  // sum a[i]*b[i]
  DistanceFn neg_inner_product;  // -sum a[i]*b[i] (a distance: smaller is closer)
  DistanceFn l1;             // sum |a[i]-b[i]|
  DotNormsFn dot_norms;      // dot, |a|^2, |b|^2
  const char* target;        // Highway's name of the target, e.g. "AVX3"
};

// The table for the best target this CPU supports (resolved once, thread-safe).
const KernelTable& Kernels();

// One table per target compiled into this binary that this CPU can run,
// best first. For tests and micro-benchmarks.
std::vector<KernelTable> AllRunnableTargets();

// Convenience wrappers through Kernels().
inline float SquaredL2(const float* a, const float* b, size_t n) { return Kernels().squared_l2(a, b, n); }
inline float InnerProduct(const float* a, const float* b, size_t n) { return Kernels().inner_product(a, b, n); }
inline float L1(const float* a, const float* b, size_t n) { return Kernels().l1(a, b, n); }
inline DotNorms DotAndNorms(const float* a, const float* b, size_t n) { return Kernels().dot_norms(a, b, n); }

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_DISTANCE_H_
