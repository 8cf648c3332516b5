// Scalar conversions between float32 and IEEE 754 binary16 ("half") bit
// patterns, for the halfvec type: exact half -> float, and float -> half with
// round-to-nearest-even (values of magnitude 65520 and above become infinity,
// which callers report as out of range). Header-only, no SIMD, no Postgres;
// the codecs, the glue and the tests share it. The SIMD kernels (half.h)
// convert in registers instead.
#ifndef VECANN_KERNELS_HALF_CONVERT_H_
#define VECANN_KERNELS_HALF_CONVERT_H_

#include <cstdint>
#include <cstring>

namespace vecann::kernels {

// Largest finite half, 65504 = (2 - 2^-10) * 2^15.
constexpr float kMaxHalf = 65504.0f;

// True unless the exponent bits are all ones (infinity or NaN).
constexpr bool HalfIsFinite(uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }

// True for +0 and -0.
constexpr bool HalfIsZero(uint16_t h) { return (h & 0x7fffu) == 0; }

// The float with the same value (every half is exactly a float).
inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    float f = static_cast<float>(mant) * 5.9604644775390625e-8f;
    std::memcpy(&bits, &f, sizeof bits);
    bits |= sign;
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // infinity or NaN
  } else {
    bits = sign | ((exp + (127 - 15)) << 23) | (mant << 13);
  }
  float out;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// The nearest half (ties to even). |f| >= 65520 gives infinity, NaN a NaN;
// values below half the smallest subnormal (2^-25) give a signed zero.
inline uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // infinity or NaN (keep it a quiet NaN)
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520
  const uint32_t exp = abs >> 23;
  const uint32_t mant = abs & 0x7fffffu;
  if (exp >= 113) {
    // Normal half: rebias the exponent, keep 10 of 23 mantissa bits, round
    // the 13 dropped bits to nearest even (a carry moves into the exponent,
    // which is right; it cannot reach infinity below 65520).
    uint32_t bits = ((exp - 112) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (bits & 1u))) ++bits;
    return static_cast<uint16_t>(sign | bits);
  }
  // Subnormal half or zero: the value in units of 2^-24 is
  // (mant | 2^23) * 2^(exp - 126), i.e. the 24-bit significand shifted right
  // by 126 - exp (>= 14). Float subnormals (exp 0) are far below 2^-25.
  const uint32_t shift = 126 - exp;
  if (exp == 0 || shift > 24) return sign;
  const uint32_t sig = mant | 0x800000u;
  uint32_t bits = sig >> shift;
  const uint32_t rest = sig & ((1u << shift) - 1u);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (bits & 1u))) ++bits;  // 0x400 is the smallest normal
  return static_cast<uint16_t>(sign | bits);
}

}  // namespace vecann::kernels

#endif  // VECANN_KERNELS_HALF_CONVERT_H_
