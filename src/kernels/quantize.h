// Reduced-precision vector codes for the HNSW index (index option
// `quantization`), and distance kernels between a float32 query and a code.
//
// A code stores one vector of `dims` float32 values in less space. Graph
// searches compare the float32 query with codes directly ("asymmetric"
// distance: the query is never rounded), so each kernel widens the code to
// float32 in registers and computes the same sum as the float kernels of
// distance.h over the code's reconstruction x^ (decode below).
//
// Code layout (all fields native-endian, the whole code padded with zero
// bytes to a multiple of 4 bytes, 4-byte aligned):
//   f32   dims float32                                 (no header; the values)
//   f16   header {err, norm}, dims IEEE binary16       (round to nearest even)
//   bf16  header {err, norm}, dims bfloat16            (round to nearest even)
//         values beyond the format's range are clamped to its largest finite
//         value (f16 +-65504; bf16 +-0x1.fep127), never infinity; err
//         includes the clamping
//   i8    header {err, norm, lo, step}, dims uint8 c   x^[i] = lo + step * c[i]
//         lo = min x, step = (max x - min x) / 255 (0 when all values equal)
//         rounded up to 16 significant bits, so that step * c is exact in
//         float and every target computes the same x^ (fused or not); when
//         lo + 255 * step would exceed FLT_MAX, the largest step that keeps it
//         finite instead. c[i] = round((x[i] - lo) / step) clamped to 0..255
//   bit   header {err, norm, lo, hi}, ceil(dims/8) bytes of bits
//         bit i is (byte i/8 >> (i%8)) & 1; t = mean of x; bit i = x[i] > t;
//         hi = mean of the x[i] with bit 1, lo = mean of the others (each 0
//         when it has no member); x^[i] = bit i ? hi : lo
// Header fields are float32:
//   err   the reconstruction error ||x - x^||, in the L2 norm, or in the L1
//         norm when the code was encoded for an L1 index (ErrorNorm::kL1);
//         computed in double and rounded up, so it is never an underestimate
//   norm  ||x||_2 of the original vector (rounded up likewise)
// The glue turns err and norm into lower bounds of true distances.
//
// Kernels share distance.h's DistanceFn signature, float(const float* q,
// const float* code, size_t dims): `code` points at the code's first byte
// (passed as const float* so the index and the core call float32 and code
// kernels alike; the kernels read it as bytes), `dims` is the number of
// values, not of 4-byte words. Compiled with Google Highway for every
// attainable target and chosen at run time like distance.h (dispatch.h).
// No Postgres headers.
#ifndef VECANN_KERNELS_QUANTIZE_H_
#define VECANN_KERNELS_QUANTIZE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/distance.h"  // DistanceFn

namespace vecann::kernels {

// The stored forms. The values are the metapage's storage byte (1 = float32
// existed before the others), so they must never change.
enum class CodeFormat : uint8_t { kF32 = 1, kF16 = 2, kBF16 = 3, kI8 = 4, kBit = 5 };

// Which norm a code's `err` field is measured in.
enum class ErrorNorm : uint8_t { kL2, kL1 };

// Bytes of a code for `dims` values (a multiple of 4).
size_t CodeBytes(CodeFormat format, size_t dims);
// Bytes of the header in front of the values (0 for f32).
size_t CodeHeaderBytes(CodeFormat format);

// Writes the code of x[0 .. dims) to `code` (CodeBytes(format, dims) bytes,
// 4-byte aligned; padding bytes zeroed). x must be finite. Scalar code (not a
// hot path: once per inserted vector).
void Encode(CodeFormat format, const float* x, size_t dims, ErrorNorm norm, float* code);

// The header fields of a code (0 for f32 codes, whose reconstruction is exact).
float CodeError(CodeFormat format, const float* code);
float CodeNorm(CodeFormat format, const float* code);

// Writes the reconstruction x^ of a code (dims floats) to out.
using DecodeFn = void (*)(const float* code, float* out, size_t dims);

// The kernels of one format on one SIMD target. For f32 these are the
// distance.h kernels themselves.
struct CodeKernelTable {
  DistanceFn squared_l2;         // sum (q[i] - x^[i])^2
  DistanceFn neg_inner_product;  // -sum q[i] * x^[i]
  DistanceFn l1;                 // sum |q[i] - x^[i]|
  DecodeFn decode;               // x^ of a code
  const char* target;            // Highway's name of the target, e.g. "AVX3"
};

// The table for the best target this CPU supports (resolved once, thread-safe).
const CodeKernelTable& CodeKernels(CodeFormat format);

// One table per target compiled in that this CPU can run, best first.
std::vector<CodeKernelTable> AllRunnableCodeTargets(CodeFormat format);

// Lower-case name used by the index option ("f32", "f16", "bf16", "i8",
// "bit"), and its inverse (false for an unknown name).
const char* CodeFormatName(CodeFormat format);
bool CodeFormatFromName(const char* name, CodeFormat* format);

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_QUANTIZE_H_
