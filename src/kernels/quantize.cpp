// Reduced-precision vector codes (see quantize.h): the scalar encoder, the
// header accessors, and the fused distance kernels between a float32 query and
// an f16, bf16, i8 or bit code (each widens the code to float32 lanes in
// registers and accumulates like distance.cpp), written once with Google
// Highway and compiled for every attainable target; CodeKernels() picks the
// best one for the running CPU once. f32 codes use distance.h's kernels.
//
// This file is included several times by hwy/foreach_target.h (once per
// target); everything outside `#if HWY_ONCE` and the shared block is compiled
// per target.

#include "kernels/quantize.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

// Same targets as distance.cpp (dispatch.h relies on it). Must precede any
// Highway header.
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/quantize.cpp"  // relative to the src/ include root
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "kernels/lane_steps-inl.h"

// Layout helpers shared by every target (compiled once).
#ifndef VECANN_KERNELS_QUANTIZE_SHARED_
#define VECANN_KERNELS_QUANTIZE_SHARED_
namespace vecann::kernels::quantize_layout {

// Header bytes: {err, norm} for f16/bf16, {err, norm, lo, step|hi} for i8/bit.
constexpr size_t kHalfHeaderBytes = 8;
constexpr size_t kWideHeaderBytes = 16;

inline const uint8_t* Bytes(const float* code) { return reinterpret_cast<const uint8_t*>(code); }

// Header field k (0 err, 1 norm, 2 lo, 3 step or hi). The code is 4-byte
// aligned, but it is read as bytes like the rest of it.
inline float Field(const float* code, size_t k) {
  float f;
  std::memcpy(&f, Bytes(code) + 4 * k, sizeof f);
  return f;
}

}  // namespace vecann::kernels::quantize_layout
#endif  // VECANN_KERNELS_QUANTIZE_SHARED_

HWY_BEFORE_NAMESPACE();
namespace vecann::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace layout = quantize_layout;

// Float lanes for the f16, bf16 and i8 kernels: full vectors.
using DF = hn::ScalableTag<float>;
// Bit codes take one 32-bit lane mask per vector, so at most 16 lanes (all of
// AVX-512; only matters on wider SVE/RVV vectors).
using DFBits = hn::CappedTag<float, 16>;

// ---- code values: Load(d, i) widens values [i, i + Lanes(d)) of the code to
// float lanes (x^); LoadTail(d, i, count) values [i, i + count) and zero in
// the other lanes, reading no byte past the one holding value i + count - 1
// (codes may end at the end of a mapped page).

// IEEE binary16, widened exactly (vcvtph2ps on AVX2/AVX-512).
struct F16Values {
  const uint8_t* p;  // first value

  template <class D>
  HWY_INLINE hn::Vec<D> Load(D d, size_t i) const {
    const hn::Rebind<hwy::float16_t, D> dh;
    return hn::PromoteTo(d, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p) + i));
  }
  template <class D>
  HWY_INLINE hn::Vec<D> LoadTail(D d, size_t i, size_t count) const {
    // Half bits 0 are +0.0.
    HWY_ALIGN uint16_t buf[hn::MaxLanes(D())] = {};
    std::memcpy(buf, p + 2 * i, count * sizeof(uint16_t));
    return F16Values{reinterpret_cast<const uint8_t*>(buf)}.Load(d, 0);
  }
};

// bfloat16: the upper half of a float32, so widening is a 16-bit shift.
struct BF16Values {
  const uint8_t* p;

  template <class D>
  HWY_INLINE hn::Vec<D> Load(D d, size_t i) const {
    const hn::Rebind<uint16_t, D> d16;
    const hn::RebindToUnsigned<D> d32;
    const auto u = hn::PromoteTo(d32, hn::LoadU(d16, reinterpret_cast<const uint16_t*>(p) + i));
    return hn::BitCast(d, hn::ShiftLeft<16>(u));
  }
  template <class D>
  HWY_INLINE hn::Vec<D> LoadTail(D d, size_t i, size_t count) const {
    HWY_ALIGN uint16_t buf[hn::MaxLanes(D())] = {};
    std::memcpy(buf, p + 2 * i, count * sizeof(uint16_t));
    return BF16Values{reinterpret_cast<const uint8_t*>(buf)}.Load(d, 0);
  }
};

// uint8 codes: x^ = lo + step * c. The encoder gives step at most 16
// significant bits, so step * c is exact in float and MulAdd rounds once
// whether or not it is fused: every target (and the scalar decoder) gets the
// same x^ bit for bit.
struct I8Values {
  const uint8_t* p;
  float lo, step;

  template <class D>
  HWY_INLINE hn::Vec<D> Load(D d, size_t i) const {
    const hn::Rebind<uint8_t, D> d8;
    const hn::RebindToSigned<D> di;
    const auto c = hn::ConvertTo(d, hn::PromoteTo(di, hn::LoadU(d8, p + i)));
    return hn::MulAdd(c, hn::Set(d, step), hn::Set(d, lo));
  }
  template <class D>
  HWY_INLINE hn::Vec<D> LoadTail(D d, size_t i, size_t count) const {
    HWY_ALIGN uint8_t buf[hn::MaxLanes(D())] = {};
    std::memcpy(buf, p + i, count);
    // Code 0 decodes to lo, not 0: zero the lanes past count.
    return hn::IfThenElseZero(hn::FirstN(d, count), I8Values{buf, lo, step}.Load(d, 0));
  }
};

// One bit per value: x^ = bit ? hi : lo.
struct BitValues {
  const uint8_t* p;
  float lo, hi;

  // Lane j = bit j of bytes[0..8) ? hi : lo (LoadMaskBits wants 8 readable
  // bytes, in memory order; a local copy stays in registers: on AVX-512 it
  // becomes a kmovw from a general register).
  template <class D>
  HWY_INLINE hn::Vec<D> Select(D d, const uint8_t* bytes) const {
    return hn::IfThenElse(hn::LoadMaskBits(d, bytes), hn::Set(d, hi), hn::Set(d, lo));
  }
  // Values [i, i + count) (count <= 16), from the (at most 3) bytes that hold
  // their bits; lanes from count on are arbitrary.
  template <class D>
  HWY_INLINE hn::Vec<D> Gather(D d, size_t i, size_t count) const {
    const size_t first = i / 8;
    const size_t last = (i + count - 1) / 8;
    uint32_t w = p[first];
    if (last > first) w |= static_cast<uint32_t>(p[first + 1]) << 8;
    if (last > first + 1) w |= static_cast<uint32_t>(p[first + 2]) << 16;
    w >>= i % 8;
    const uint8_t bytes[8] = {static_cast<uint8_t>(w), static_cast<uint8_t>(w >> 8), 0, 0, 0, 0, 0, 0};
    return Select(d, bytes);
  }
  // i is a multiple of Lanes(d) (as in Accumulate and DecodeValues).
  template <class D>
  HWY_INLINE hn::Vec<D> Load(D d, size_t i) const {
    const size_t N = hn::Lanes(d);
    if (N % 8 == 0) {
      // Whole bytes: N / 8 of them (1 or 2), starting at bit 0 of byte i / 8.
      uint8_t bytes[8] = {};
      std::memcpy(bytes, p + i / 8, N / 8);
      return Select(d, bytes);
    }
    if (8 % N == 0) {
      // Part of one byte (SSE4/NEON: 4 lanes; SCALAR: 1); LoadMaskBits
      // ignores the bits past N.
      const uint8_t bytes[8] = {static_cast<uint8_t>(p[i / 8] >> (i % 8)), 0, 0, 0, 0, 0, 0, 0};
      return Select(d, bytes);
    }
    return Gather(d, i, N);
  }
  template <class D>
  HWY_INLINE hn::Vec<D> LoadTail(D d, size_t i, size_t count) const {
    return hn::IfThenElseZero(hn::FirstN(d, count), Gather(d, i, count));
  }
};

HWY_INLINE F16Values F16Of(const float* code) {
  return F16Values{layout::Bytes(code) + layout::kHalfHeaderBytes};
}
HWY_INLINE BF16Values BF16Of(const float* code) {
  return BF16Values{layout::Bytes(code) + layout::kHalfHeaderBytes};
}
HWY_INLINE I8Values I8Of(const float* code) {
  return I8Values{layout::Bytes(code) + layout::kWideHeaderBytes, layout::Field(code, 2),
                  layout::Field(code, 3)};
}
HWY_INLINE BitValues BitOf(const float* code) {
  return BitValues{layout::Bytes(code) + layout::kWideHeaderBytes, layout::Field(code, 2),
                   layout::Field(code, 3)};
}

// ---- accumulation (q, x^) with the steps of lane_steps-inl.h.

// sum over i < n of Step(q[i], x^[i]) in float lanes, four independent
// accumulators to hide the FMA latency (as distance.cpp and half.cpp).
template <class Step, class D, class Values>
HWY_INLINE float Accumulate(D d, const float* q, const Values& x, size_t n) {
  const size_t N = hn::Lanes(d);
  const Step step;
  auto acc0 = hn::Zero(d);
  auto acc1 = hn::Zero(d);
  auto acc2 = hn::Zero(d);
  auto acc3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    acc0 = step(hn::LoadU(d, q + i), x.Load(d, i), acc0);
    acc1 = step(hn::LoadU(d, q + i + N), x.Load(d, i + N), acc1);
    acc2 = step(hn::LoadU(d, q + i + 2 * N), x.Load(d, i + 2 * N), acc2);
    acc3 = step(hn::LoadU(d, q + i + 3 * N), x.Load(d, i + 3 * N), acc3);
  }
  for (; i + N <= n; i += N) {
    acc0 = step(hn::LoadU(d, q + i), x.Load(d, i), acc0);
  }
  if (i < n) {
    acc1 = step(LoadTail(d, q + i, n - i), x.LoadTail(d, i, n - i), acc1);
  }
  acc0 = hn::Add(hn::Add(acc0, acc1), hn::Add(acc2, acc3));
  return hn::GetLane(hn::SumOfLanes(d, acc0));
}

// out[0, n) = x^.
template <class D, class Values>
HWY_INLINE void DecodeValues(D d, const Values& x, float* out, size_t n) {
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(x.Load(d, i), d, out + i);
  if (i < n) {
    HWY_ALIGN float buf[hn::MaxLanes(D())];
    hn::Store(x.LoadTail(d, i, n - i), d, buf);
    std::memcpy(out + i, buf, (n - i) * sizeof(float));
  }
}

// f16
float KF16SquaredL2(const float* q, const float* code, size_t n) {
  return Accumulate<SquaredL2Step>(DF(), q, F16Of(code), n);
}
float KF16NegInnerProduct(const float* q, const float* code, size_t n) {
  return -Accumulate<DotStep>(DF(), q, F16Of(code), n);
}
float KF16L1(const float* q, const float* code, size_t n) {
  return Accumulate<L1Step>(DF(), q, F16Of(code), n);
}
void KF16Decode(const float* code, float* out, size_t n) { DecodeValues(DF(), F16Of(code), out, n); }

// bf16
float KBF16SquaredL2(const float* q, const float* code, size_t n) {
  return Accumulate<SquaredL2Step>(DF(), q, BF16Of(code), n);
}
float KBF16NegInnerProduct(const float* q, const float* code, size_t n) {
  return -Accumulate<DotStep>(DF(), q, BF16Of(code), n);
}
float KBF16L1(const float* q, const float* code, size_t n) {
  return Accumulate<L1Step>(DF(), q, BF16Of(code), n);
}
void KBF16Decode(const float* code, float* out, size_t n) { DecodeValues(DF(), BF16Of(code), out, n); }

// i8
float KI8SquaredL2(const float* q, const float* code, size_t n) {
  return Accumulate<SquaredL2Step>(DF(), q, I8Of(code), n);
}
float KI8NegInnerProduct(const float* q, const float* code, size_t n) {
  return -Accumulate<DotStep>(DF(), q, I8Of(code), n);
}
float KI8L1(const float* q, const float* code, size_t n) {
  return Accumulate<L1Step>(DF(), q, I8Of(code), n);
}
void KI8Decode(const float* code, float* out, size_t n) { DecodeValues(DF(), I8Of(code), out, n); }

// bit
float KBitSquaredL2(const float* q, const float* code, size_t n) {
  return Accumulate<SquaredL2Step>(DFBits(), q, BitOf(code), n);
}
float KBitNegInnerProduct(const float* q, const float* code, size_t n) {
  return -Accumulate<DotStep>(DFBits(), q, BitOf(code), n);
}
float KBitL1(const float* q, const float* code, size_t n) {
  return Accumulate<L1Step>(DFBits(), q, BitOf(code), n);
}
void KBitDecode(const float* code, float* out, size_t n) { DecodeValues(DFBits(), BitOf(code), out, n); }

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace vecann::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

#include "kernels/dispatch.h"
#include "kernels/half_convert.h"

namespace vecann::kernels {

HWY_EXPORT(KF16SquaredL2);
HWY_EXPORT(KF16NegInnerProduct);
HWY_EXPORT(KF16L1);
HWY_EXPORT(KF16Decode);
HWY_EXPORT(KBF16SquaredL2);
HWY_EXPORT(KBF16NegInnerProduct);
HWY_EXPORT(KBF16L1);
HWY_EXPORT(KBF16Decode);
HWY_EXPORT(KI8SquaredL2);
HWY_EXPORT(KI8NegInnerProduct);
HWY_EXPORT(KI8L1);
HWY_EXPORT(KI8Decode);
HWY_EXPORT(KBitSquaredL2);
HWY_EXPORT(KBitNegInnerProduct);
HWY_EXPORT(KBitL1);
HWY_EXPORT(KBitDecode);

namespace {

namespace layout = quantize_layout;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMaxFloat = std::numeric_limits<float>::max();

// Table of one target for a Highway-compiled format, or false if this file has
// no code for that slot.
bool CodeTableAt(CodeFormat format, size_t index, CodeKernelTable* out) {
  if (index == 0 || index > dispatch::kFallbackIndex) return false;
  CodeKernelTable t{};
  switch (format) {
    case CodeFormat::kF16:
      t.squared_l2 = HWY_DISPATCH_TABLE(KF16SquaredL2)[index];
      t.neg_inner_product = HWY_DISPATCH_TABLE(KF16NegInnerProduct)[index];
      t.l1 = HWY_DISPATCH_TABLE(KF16L1)[index];
      t.decode = HWY_DISPATCH_TABLE(KF16Decode)[index];
      break;
    case CodeFormat::kBF16:
      t.squared_l2 = HWY_DISPATCH_TABLE(KBF16SquaredL2)[index];
      t.neg_inner_product = HWY_DISPATCH_TABLE(KBF16NegInnerProduct)[index];
      t.l1 = HWY_DISPATCH_TABLE(KBF16L1)[index];
      t.decode = HWY_DISPATCH_TABLE(KBF16Decode)[index];
      break;
    case CodeFormat::kI8:
      t.squared_l2 = HWY_DISPATCH_TABLE(KI8SquaredL2)[index];
      t.neg_inner_product = HWY_DISPATCH_TABLE(KI8NegInnerProduct)[index];
      t.l1 = HWY_DISPATCH_TABLE(KI8L1)[index];
      t.decode = HWY_DISPATCH_TABLE(KI8Decode)[index];
      break;
    case CodeFormat::kBit:
      t.squared_l2 = HWY_DISPATCH_TABLE(KBitSquaredL2)[index];
      t.neg_inner_product = HWY_DISPATCH_TABLE(KBitNegInnerProduct)[index];
      t.l1 = HWY_DISPATCH_TABLE(KBitL1)[index];
      t.decode = HWY_DISPATCH_TABLE(KBitDecode)[index];
      break;
    default:
      return false;
  }
  t.target = dispatch::TargetNameOfIndex(index);
  if (!t.squared_l2 || !t.neg_inner_product || !t.l1 || !t.decode) return false;
  *out = t;
  return true;
}

// f32 codes are the values themselves.
void DecodeF32(const float* code, float* out, size_t dims) { std::memcpy(out, code, dims * sizeof(float)); }

CodeKernelTable F32Table(const KernelTable& k) {
  return CodeKernelTable{k.squared_l2, k.neg_inner_product, k.l1, DecodeF32, k.target};
}

template <CodeFormat kFormat>
const CodeKernelTable& BestTable() {
  static const CodeKernelTable table = dispatch::ResolveBest<CodeKernelTable>(
      [](size_t index, CodeKernelTable* t) { return CodeTableAt(kFormat, index, t); });
  return table;
}

// ---- encoding (scalar) -----------------------------------------------------------

uint8_t* BytesOf(float* code) { return reinterpret_cast<uint8_t*>(code); }

void PutField(float* code, size_t k, float v) { std::memcpy(BytesOf(code) + 4 * k, &v, sizeof v); }

// A float never below the exact value of a sum v >= 0 of n non-negative
// terms computed in double (squares or absolute values of floats or of
// differences of floats, then perhaps a square root): the relative error of v
// is at most (n + 2) * 2^-53, so v is first raised by twice that, then rounded
// up to a float. 0 stays 0 (such sums are exactly 0 only when every term is).
// Exact values within about n * 2^-52 of FLT_MAX, or beyond it, give
// infinity: still never an underestimate.
float RoundUp(double v, size_t n) {
  if (v <= 0.0) return 0.0f;
  const double raised = v * (1.0 + static_cast<double>(n + 4) * std::ldexp(1.0, -52));
  float f = static_cast<float>(raised);
  if (static_cast<double>(f) < raised) f = std::nextafter(f, kInf);
  return f;
}

// The nearest bfloat16 (ties to even). A finite float that rounds to infinity
// (|f| >= 0x1.ffp127, up to FLT_MAX) gives the largest finite
// bfloat16 of its sign instead: codes hold only finite values.
uint16_t FloatToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  uint16_t b = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  if ((b & 0x7f80u) == 0x7f80u) b = static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7f7fu);
  return b;
}

float BF16ToFloat(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// The nearest half (ties to even). Beyond the half range, values are clamped
// to +-65504 (the largest finite half) instead of becoming infinity; `err`
// then includes the clamping error.
uint16_t FloatToHalfClamped(float f) { return FloatToHalf(std::min(std::max(f, -kMaxHalf), kMaxHalf)); }

// The i8 step: `s` rounded up to 16 significant bits, so that step * c is
// exact in float for every code c < 256 (see I8Values). Up to 2^-15 coarser
// than (max - min) / 255, which is nothing next to the 8-bit codes.
float RoundUpTo16Bits(double s) {
  int e;
  std::frexp(s, &e);  // s = m * 2^e, 0.5 <= m < 1
  const double r = std::ldexp(std::ceil(std::ldexp(s, 16 - e)), e - 16);
  // Exact, unless r is above FLT_MAX (infinity; the caller lowers it) or a
  // subnormal below 2^-134 whose last bit falls under 2^-149: then the float
  // at or above r is k * 2^-149 with k <= 2^16, still exact times any c < 256.
  float f = static_cast<float>(r);
  if (static_cast<double>(f) < r) f = std::nextafter(f, kInf);
  return f;
}

// The largest float with 16 significant bits that is <= s (s > 0, normal).
float RoundDownTo16Bits(double s) {
  int e;
  std::frexp(s, &e);
  return static_cast<float>(std::ldexp(std::floor(std::ldexp(s, 16 - e)), e - 16));
}

// Value i of a code's reconstruction x^, scalar: the definition the SIMD
// decoders reproduce bit for bit, and what Encode measures its error against.
float ValueAt(CodeFormat format, const float* code, size_t i) {
  const uint8_t* bytes = layout::Bytes(code);
  switch (format) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16: {
      uint16_t h;
      std::memcpy(&h, bytes + layout::kHalfHeaderBytes + 2 * i, sizeof h);
      return format == CodeFormat::kF16 ? HalfToFloat(h) : BF16ToFloat(h);
    }
    case CodeFormat::kI8:  // exact product, one rounding
      return layout::Field(code, 2) + layout::Field(code, 3) * static_cast<float>(bytes[layout::kWideHeaderBytes + i]);
    case CodeFormat::kBit:
      return ((bytes[layout::kWideHeaderBytes + i / 8] >> (i % 8)) & 1u) ? layout::Field(code, 3)
                                                                         : layout::Field(code, 2);
    default:
      return code[i];
  }
}

void EncodeI8(const float* x, size_t dims, float* code) {
  if (dims == 0) return;  // lo = step = 0
  float lo = x[0], hi = x[0];
  for (size_t i = 1; i < dims; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  float step = 0.0f;
  if (range > 0.0) {
    step = RoundUpTo16Bits(range / 255.0);
    // Keep every x^ = lo + step * c finite (c <= 255), for vectors spanning
    // nearly the whole float range: then the step is as large as allowed and
    // the largest values are clamped to code 255 (err includes that).
    const double limit = kMaxFloat;
    if (!(255.0 * step <= limit && static_cast<double>(lo) + 255.0 * step <= limit)) {
      step = RoundDownTo16Bits(std::min(limit, limit - static_cast<double>(lo)) / 255.0);
    }
  }
  PutField(code, 2, lo);
  PutField(code, 3, step);
  uint8_t* c = BytesOf(code) + layout::kWideHeaderBytes;
  for (size_t i = 0; i < dims; ++i) {
    double v = 0.0;
    if (step > 0.0f) {
      v = std::nearbyint((static_cast<double>(x[i]) - static_cast<double>(lo)) / static_cast<double>(step));
      v = std::min(std::max(v, 0.0), 255.0);
    }
    c[i] = static_cast<uint8_t>(v);
  }
}

void EncodeBit(const float* x, size_t dims, float* code) {
  double sum = 0.0;
  for (size_t i = 0; i < dims; ++i) sum += x[i];
  const double t = sum / static_cast<double>(dims);
  double sum1 = 0.0, sum0 = 0.0;
  size_t n1 = 0;
  uint8_t* b = BytesOf(code) + layout::kWideHeaderBytes;
  for (size_t i = 0; i < dims; ++i) {
    if (static_cast<double>(x[i]) > t) {
      b[i / 8] = static_cast<uint8_t>(b[i / 8] | (1u << (i % 8)));
      sum1 += x[i];
      ++n1;
    } else {
      sum0 += x[i];
    }
  }
  // Means of finite floats, rounded to nearest: finite.
  const float hi = n1 > 0 ? static_cast<float>(sum1 / static_cast<double>(n1)) : 0.0f;
  const float lo = n1 < dims ? static_cast<float>(sum0 / static_cast<double>(dims - n1)) : 0.0f;
  PutField(code, 2, lo);
  PutField(code, 3, hi);
}

}  // namespace

size_t CodeHeaderBytes(CodeFormat format) {
  switch (format) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16:
      return layout::kHalfHeaderBytes;
    case CodeFormat::kI8:
    case CodeFormat::kBit:
      return layout::kWideHeaderBytes;
    default:
      return 0;
  }
}

size_t CodeBytes(CodeFormat format, size_t dims) {
  size_t values;
  switch (format) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16:
      values = 2 * dims;
      break;
    case CodeFormat::kI8:
      values = dims;
      break;
    case CodeFormat::kBit:
      values = (dims + 7) / 8;
      break;
    default:
      values = 4 * dims;
      break;
  }
  return (CodeHeaderBytes(format) + values + 3) / 4 * 4;
}

void Encode(CodeFormat format, const float* x, size_t dims, ErrorNorm norm, float* code) {
  if (format != CodeFormat::kF16 && format != CodeFormat::kBF16 && format != CodeFormat::kI8 &&
      format != CodeFormat::kBit) {
    std::memcpy(code, x, dims * sizeof(float));  // f32
    return;
  }
  std::memset(code, 0, CodeBytes(format, dims));  // header, bits and padding
  uint8_t* values = BytesOf(code) + CodeHeaderBytes(format);
  switch (format) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16:
      for (size_t i = 0; i < dims; ++i) {
        const uint16_t h = format == CodeFormat::kF16 ? FloatToHalfClamped(x[i]) : FloatToBF16(x[i]);
        std::memcpy(values + 2 * i, &h, sizeof h);
      }
      break;
    case CodeFormat::kI8:
      EncodeI8(x, dims, code);
      break;
    default:
      EncodeBit(x, dims, code);
      break;
  }
  // err and norm from the actual reconstruction, in double, rounded up. No
  // allocation here: the glue calls Encode from frames that can ereport.
  double err = 0.0, sq = 0.0;
  for (size_t i = 0; i < dims; ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(ValueAt(format, code, i));
    err += norm == ErrorNorm::kL1 ? std::fabs(d) : d * d;
    sq += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  PutField(code, 0, RoundUp(norm == ErrorNorm::kL1 ? err : std::sqrt(err), dims));
  PutField(code, 1, RoundUp(std::sqrt(sq), dims));
}

float CodeError(CodeFormat format, const float* code) {
  return CodeHeaderBytes(format) == 0 ? 0.0f : layout::Field(code, 0);
}

float CodeNorm(CodeFormat format, const float* code) {
  return CodeHeaderBytes(format) == 0 ? 0.0f : layout::Field(code, 1);
}

const CodeKernelTable& CodeKernels(CodeFormat format) {
  switch (format) {
    case CodeFormat::kF16:
      return BestTable<CodeFormat::kF16>();
    case CodeFormat::kBF16:
      return BestTable<CodeFormat::kBF16>();
    case CodeFormat::kI8:
      return BestTable<CodeFormat::kI8>();
    case CodeFormat::kBit:
      return BestTable<CodeFormat::kBit>();
    default: {
      static const CodeKernelTable table = F32Table(Kernels());
      return table;
    }
  }
}

std::vector<CodeKernelTable> AllRunnableCodeTargets(CodeFormat format) {
  if (CodeHeaderBytes(format) == 0) {  // f32
    std::vector<CodeKernelTable> tables;
    for (const KernelTable& k : AllRunnableTargets()) tables.push_back(F32Table(k));
    return tables;
  }
  return dispatch::AllRunnable<CodeKernelTable>(
      [format](size_t index, CodeKernelTable* t) { return CodeTableAt(format, index, t); });
}

const char* CodeFormatName(CodeFormat format) {
  switch (format) {
    case CodeFormat::kF32:
      return "f32";
    case CodeFormat::kF16:
      return "f16";
    case CodeFormat::kBF16:
      return "bf16";
    case CodeFormat::kI8:
      return "i8";
    case CodeFormat::kBit:
      return "bit";
  }
  return "unknown";
}

bool CodeFormatFromName(const char* name, CodeFormat* format) {
  if (name == nullptr) return false;
  for (CodeFormat f : {CodeFormat::kF32, CodeFormat::kF16, CodeFormat::kBF16, CodeFormat::kI8, CodeFormat::kBit}) {
    if (std::strcmp(name, CodeFormatName(f)) == 0) {
      *format = f;
      return true;
    }
  }
  return false;
}

}  // namespace vecann::kernels
#endif  // HWY_ONCE
