// Unit tests for the quantized codes (src/kernels/quantize.h): the layout and
// header sizes, the scalar encoder (err and norm never underestimate and are
// within a few ulps, the documented i8 and bit reconstructions, exact round
// trips, constant vectors, extreme values), and every kernel and decoder of
// every format on every runnable Highway target against a double-precision
// reference over the code's reconstruction x^ (decoded by this file's own
// scalar decoder, written from the layout documented in quantize.h), for all
// lengths 1..1100 with unaligned queries and codes, plus guard-page checks that
// no kernel reads outside the code or the query.
#include "kernels/quantize.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/distance.h"
#include "kernels/half_convert.h"

namespace vecann::kernels {

namespace {

constexpr CodeFormat kAllFormats[] = {CodeFormat::kF32, CodeFormat::kF16, CodeFormat::kBF16, CodeFormat::kI8,
                                      CodeFormat::kBit};
constexpr CodeFormat kLossyFormats[] = {CodeFormat::kF16, CodeFormat::kBF16, CodeFormat::kI8, CodeFormat::kBit};
constexpr float kFltMax = std::numeric_limits<float>::max();

uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// ---- the documented layout, independently of quantize.cpp ---------------------------

size_t HeaderBytes(CodeFormat f) {
  switch (f) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16:
      return 8;
    case CodeFormat::kI8:
    case CodeFormat::kBit:
      return 16;
    default:
      return 0;
  }
}

size_t ValueBytes(CodeFormat f, size_t dims) {
  switch (f) {
    case CodeFormat::kF16:
    case CodeFormat::kBF16:
      return 2 * dims;
    case CodeFormat::kI8:
      return dims;
    case CodeFormat::kBit:
      return (dims + 7) / 8;
    default:
      return 4 * dims;
  }
}

const uint8_t* BytesOf(const float* code) { return reinterpret_cast<const uint8_t*>(code); }

float Field(const float* code, size_t k) {
  float f;
  std::memcpy(&f, BytesOf(code) + 4 * k, sizeof f);
  return f;
}

uint16_t Value16(const float* code, size_t i) {
  uint16_t h;
  std::memcpy(&h, BytesOf(code) + 8 + 2 * i, sizeof h);
  return h;
}

bool Bit(const float* code, size_t i) { return ((BytesOf(code)[16 + i / 8] >> (i % 8)) & 1u) != 0; }

float BF16ToFloat(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// x^ of a code, scalar.
std::vector<float> RefDecode(CodeFormat f, const float* code, size_t dims) {
  std::vector<float> out(dims);
  for (size_t i = 0; i < dims; ++i) {
    switch (f) {
      case CodeFormat::kF16:
        out[i] = HalfToFloat(Value16(code, i));
        break;
      case CodeFormat::kBF16:
        out[i] = BF16ToFloat(Value16(code, i));
        break;
      case CodeFormat::kI8:
        out[i] = Field(code, 2) + Field(code, 3) * static_cast<float>(BytesOf(code)[16 + i]);
        break;
      case CodeFormat::kBit:
        out[i] = Bit(code, i) ? Field(code, 3) : Field(code, 2);
        break;
      default:
        out[i] = code[i];
        break;
    }
  }
  return out;
}

std::vector<float> EncodeToVector(CodeFormat f, const float* x, size_t dims, ErrorNorm norm) {
  std::vector<float> code(CodeBytes(f, dims) / 4);
  Encode(f, x, dims, norm, code.data());
  return code;
}

// ---- random data -------------------------------------------------------------------

// 64-byte aligned float buffer, so offsets 1..3 give unaligned pointers for
// every vector width.
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer AllocAligned(size_t count) {
  const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  return Buffer(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

// mode 0: uniform [-1, 1]; 1: mixed magnitudes +-10^U(-3, 3); 2: query near
// the vector (q = x * (1 +- 1e-3)), heavy cancellation for f16/bf16; 3:
// non-negative [0, 10) with an offset (i8/bit levels far from 0).
constexpr const char* kModes[] = {"uniform", "mixed_magnitude", "near_equal", "nonneg"};

void MakeData(int mode, uint32_t seed, size_t count, std::vector<float>* x, std::vector<float>* q) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u11(-1.0f, 1.0f), exp10(-3.0f, 3.0f), u010(0.0f, 10.0f);
  std::bernoulli_distribution coin(0.5);
  x->resize(count);
  q->resize(count);
  for (size_t i = 0; i < count; ++i) {
    switch (mode) {
      case 0:
        (*x)[i] = u11(rng);
        (*q)[i] = u11(rng);
        break;
      case 1:
        (*x)[i] = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        (*q)[i] = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        break;
      case 2:
        (*x)[i] = (coin(rng) ? -100.0f : 100.0f) * (1.0f + 0.5f * u11(rng));
        (*q)[i] = (*x)[i] * (1.0f + 1e-3f * u11(rng));
        break;
      default:
        (*x)[i] = 5.0f + u010(rng);
        (*q)[i] = u010(rng);
        break;
    }
  }
}

// ---- kernels against the reference -------------------------------------------------------

// Tolerance, as in kernels_test.cpp: the widening to x^ is exact (the kernels
// compute the very floats the decoder writes; checked below by
// squared_l2(x^, code) == 0), and the sums are accumulated in float in at
// least L = 8 independent lanes on SIMD targets (2 assumed on SCALAR), so
// the worst-case recursive-summation bound is
//   |got - exact| <= (n / L + log2(L) + 3) * 2^-24 * sum_i |term_i|;
// we allow twice that, at least 2e-5 (= 2e-5 on SIMD targets for n <= 1100,
// 6.6e-5 on SCALAR), relative to sum |term_i| (the result itself for L2 and
// L1, sum |q_i x^_i| for the inner product), plus 1e-30 absolute.
size_t MinLanes(const CodeKernelTable& k) { return std::string(k.target) == "SCALAR" ? 2 : 8; }

double RelTol(size_t n, size_t lanes) {
  const double l = static_cast<double>(lanes);
  return std::max(2e-5, 2.0 * (static_cast<double>(n) / l + std::log2(l) + 3.0) * std::ldexp(1.0, -24));
}

struct Reference {
  double l2 = 0.0, ip = 0.0, l1 = 0.0, sum_abs_ip = 0.0;
};

Reference ReferenceOf(const float* q, const std::vector<float>& xhat, size_t n) {
  Reference r;
  for (size_t i = 0; i < n; ++i) {
    const double a = q[i], b = xhat[i];
    r.l2 += (a - b) * (a - b);
    r.ip += a * b;
    r.l1 += std::fabs(a - b);
    r.sum_abs_ip += std::fabs(a * b);
  }
  return r;
}

void ExpectClose(double got, double want, double sum_abs, size_t n, size_t lanes, const char* what,
                 const std::string& where) {
  EXPECT_LE(std::fabs(got - want), RelTol(n, lanes) * sum_abs + 1e-30)
      << what << " n=" << n << " " << where << " got=" << got << " want=" << want;
}

// Every kernel and the decoder of table k on (q, code), against the reference
// over x^ (xhat, from RefDecode).
void CheckKernels(const CodeKernelTable& k, const float* q, const float* code, size_t n, const std::vector<float>& xhat,
                  const Reference& r, const std::string& where) {
  const size_t lanes = MinLanes(k);
  ExpectClose(k.squared_l2(q, code, n), r.l2, r.l2, n, lanes, "squared_l2", where);
  ExpectClose(k.neg_inner_product(q, code, n), -r.ip, r.sum_abs_ip, n, lanes, "neg_inner_product", where);
  ExpectClose(k.l1(q, code, n), r.l1, r.l1, n, lanes, "l1", where);
  std::vector<float> out(n + 1, -7.0f);
  k.decode(code, out.data(), n);
  ASSERT_EQ(std::memcmp(out.data(), xhat.data(), n * sizeof(float)), 0) << "decode differs; n=" << n << " " << where;
  ASSERT_EQ(out[n], -7.0f) << "decode wrote past n; " << where;
}

struct Param {
  CodeFormat format;
  CodeKernelTable table;
};

void PrintTo(const Param& p, std::ostream* os) { *os << CodeFormatName(p.format) << "_" << p.table.target; }

std::vector<Param> AllParams() {
  std::vector<Param> params;
  for (CodeFormat f : kAllFormats) {
    for (const CodeKernelTable& t : AllRunnableCodeTargets(f)) params.push_back(Param{f, t});
  }
  return params;
}

class CodeKernelTest : public ::testing::TestWithParam<Param> {};

constexpr size_t kMaxLen = 1100;

TEST_P(CodeKernelTest, MatchesReferenceForAllLengthsAndOffsets) {
  const CodeFormat f = GetParam().format;
  const CodeKernelTable& k = GetParam().table;
  // (query offset, code offset) in floats past a 64-byte boundary.
  constexpr size_t kOffsets[][2] = {{0, 0}, {1, 2}, {3, 1}};
  Buffer qbuf = AllocAligned(kMaxLen + 4);
  Buffer cbuf = AllocAligned(CodeBytes(CodeFormat::kF32, kMaxLen) / 4 + 4);
  for (int mode = 0; mode < 4; ++mode) {
    std::vector<float> x, q;
    MakeData(mode, 500u + static_cast<uint32_t>(mode), kMaxLen, &x, &q);
    for (size_t n = 1; n <= kMaxLen; ++n) {
      const ErrorNorm norm = n % 2 ? ErrorNorm::kL2 : ErrorNorm::kL1;
      const std::vector<float> code = EncodeToVector(f, x.data(), n, norm);
      const std::vector<float> xhat = RefDecode(f, code.data(), n);
      const Reference r = ReferenceOf(q.data(), xhat, n);
      for (const auto& off : kOffsets) {
        float* qp = qbuf.get() + off[0];
        float* cp = cbuf.get() + off[1];
        std::memcpy(qp, q.data(), n * sizeof(float));
        std::memcpy(cp, code.data(), code.size() * sizeof(float));
        CheckKernels(k, qp, cp, n, xhat, r,
                     std::string(kModes[mode]) + " offsets=" + std::to_string(off[0]) + "," + std::to_string(off[1]));
        if (::testing::Test::HasFatalFailure()) return;
      }
      // The query equal to x^: the kernels must see exactly x^.
      std::memcpy(qbuf.get() + 1, xhat.data(), n * sizeof(float));
      EXPECT_EQ(k.squared_l2(qbuf.get() + 1, code.data(), n), 0.0f) << "n=" << n << " " << kModes[mode];
      EXPECT_EQ(k.l1(qbuf.get() + 1, code.data(), n), 0.0f) << "n=" << n << " " << kModes[mode];
    }
  }
}

TEST_P(CodeKernelTest, LongVectors) {
  const CodeFormat f = GetParam().format;
  const CodeKernelTable& k = GetParam().table;
  std::vector<float> x, q;
  MakeData(0, 9, 16001, &x, &q);
  for (size_t n : {1536u, 2000u, 4095u, 4096u, 4097u, 10000u, 16000u}) {
    const std::vector<float> code = EncodeToVector(f, x.data(), n, ErrorNorm::kL2);
    const std::vector<float> xhat = RefDecode(f, code.data(), n);
    CheckKernels(k, q.data() + 1, code.data(), n, xhat, ReferenceOf(q.data() + 1, xhat, n), "long");
  }
}

TEST_P(CodeKernelTest, SmallExactCases) {
  const CodeFormat f = GetParam().format;
  const CodeKernelTable& k = GetParam().table;
  // x^ = {1, -2, 3} exactly for f32/f16/bf16.
  if (f == CodeFormat::kF32 || f == CodeFormat::kF16 || f == CodeFormat::kBF16) {
    const float x[] = {1.0f, -2.0f, 3.0f};
    const float q[] = {4.0f, 5.0f, -6.0f};
    const std::vector<float> code = EncodeToVector(f, x, 3, ErrorNorm::kL2);
    EXPECT_EQ(k.squared_l2(q, code.data(), 3), 9.0f + 49.0f + 81.0f);
    EXPECT_EQ(k.neg_inner_product(q, code.data(), 3), 24.0f);
    EXPECT_EQ(k.l1(q, code.data(), 3), 19.0f);
  }
  // Two levels a < b, exactly representable: i8 codes 0 and 255 (b - a = 255
  // makes step 1), bit 0 and 1.
  if (f == CodeFormat::kI8 || f == CodeFormat::kBit) {
    const float a = -1.0f, b = f == CodeFormat::kI8 ? 254.0f : 3.0f;
    const float x[] = {a, b, b, a, b, a, a, a, b};
    const float q[] = {0, 0, 0, 0, 0, 0, 0, 0, 1.0f};
    const std::vector<float> code = EncodeToVector(f, x, 9, ErrorNorm::kL2);
    EXPECT_EQ(CodeError(f, code.data()), 0.0f);
    EXPECT_EQ(k.neg_inner_product(q, code.data(), 9), -b);
    EXPECT_EQ(k.l1(q, code.data(), 9), 5 * -a + 3 * b + (b - 1));
    EXPECT_EQ(k.squared_l2(q, code.data(), 9), 5 * a * a + 3 * b * b + (b - 1) * (b - 1));
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormatsAndTargets, CodeKernelTest, ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::string(CodeFormatName(info.param.format)) + "_" + info.param.table.target;
                         });

TEST(CodeKernelDispatch, BestIsFirstRunnableAndFallbackLast) {
  for (CodeFormat f : kAllFormats) {
    SCOPED_TRACE(CodeFormatName(f));
    const std::vector<CodeKernelTable> all = AllRunnableCodeTargets(f);
    ASSERT_FALSE(all.empty());
    const CodeKernelTable& best = CodeKernels(f);
    EXPECT_STREQ(best.target, all.front().target);
    EXPECT_EQ(best.squared_l2, all.front().squared_l2);
    EXPECT_EQ(best.neg_inner_product, all.front().neg_inner_product);
    EXPECT_EQ(best.l1, all.front().l1);
    EXPECT_EQ(best.decode, all.front().decode);
    const std::string last = all.back().target;
    EXPECT_TRUE(last == "EMU128" || last == "SCALAR") << last;
    EXPECT_STREQ(best.target, Kernels().target);  // same targets as distance.h
    EXPECT_EQ(all.size(), AllRunnableTargets().size());
  }
  // f32 codes use the float kernels themselves.
  EXPECT_EQ(CodeKernels(CodeFormat::kF32).squared_l2, Kernels().squared_l2);
  EXPECT_EQ(CodeKernels(CodeFormat::kF32).neg_inner_product, Kernels().neg_inner_product);
  EXPECT_EQ(CodeKernels(CodeFormat::kF32).l1, Kernels().l1);
}

// ---- layout --------------------------------------------------------------------------

TEST(CodeLayout, SizesAndNames) {
  EXPECT_EQ(CodeHeaderBytes(CodeFormat::kF32), 0u);
  EXPECT_EQ(CodeHeaderBytes(CodeFormat::kF16), 8u);
  EXPECT_EQ(CodeHeaderBytes(CodeFormat::kBF16), 8u);
  EXPECT_EQ(CodeHeaderBytes(CodeFormat::kI8), 16u);
  EXPECT_EQ(CodeHeaderBytes(CodeFormat::kBit), 16u);
  for (CodeFormat f : kAllFormats) {
    for (size_t dims = 1; dims <= 2100; ++dims) {
      const size_t bytes = CodeBytes(f, dims);
      ASSERT_EQ(bytes % 4, 0u) << CodeFormatName(f) << " " << dims;
      ASSERT_EQ(bytes, (HeaderBytes(f) + ValueBytes(f, dims) + 3) / 4 * 4) << CodeFormatName(f) << " " << dims;
    }
  }
  EXPECT_EQ(CodeBytes(CodeFormat::kBit, 784), 16u + 98u + 2u);
  EXPECT_EQ(CodeBytes(CodeFormat::kI8, 1536), 16u + 1536u);
  EXPECT_EQ(CodeBytes(CodeFormat::kF16, 3), 16u);
  // Names and their inverse; the enum values are on-disk bytes.
  const std::pair<CodeFormat, const char*> names[] = {{CodeFormat::kF32, "f32"},
                                                      {CodeFormat::kF16, "f16"},
                                                      {CodeFormat::kBF16, "bf16"},
                                                      {CodeFormat::kI8, "i8"},
                                                      {CodeFormat::kBit, "bit"}};
  uint8_t value = 1;
  for (const auto& [format, name] : names) {
    EXPECT_EQ(static_cast<uint8_t>(format), value++);
    EXPECT_STREQ(CodeFormatName(format), name);
    CodeFormat parsed = CodeFormat::kF32;
    EXPECT_TRUE(CodeFormatFromName(name, &parsed)) << name;
    EXPECT_EQ(parsed, format) << name;
  }
  CodeFormat untouched = CodeFormat::kI8;
  for (const char* bad : {"", "F16", "f8", "int8", "binary", "f16 ", "bf"}) {
    EXPECT_FALSE(CodeFormatFromName(bad, &untouched)) << bad;
  }
  EXPECT_EQ(untouched, CodeFormat::kI8);
}

TEST(CodeLayout, F32CodeIsTheVector) {
  const float x[] = {1.5f, -2.25f, 1e-30f, kFltMax, -0.0f};
  std::vector<float> code(CodeBytes(CodeFormat::kF32, 5) / 4 + 1, 99.0f);
  Encode(CodeFormat::kF32, x, 5, ErrorNorm::kL2, code.data());
  EXPECT_EQ(std::memcmp(code.data(), x, sizeof x), 0);
  EXPECT_EQ(code[5], 99.0f);
  EXPECT_EQ(CodeError(CodeFormat::kF32, code.data()), 0.0f);
  EXPECT_EQ(CodeNorm(CodeFormat::kF32, code.data()), 0.0f);
  std::vector<float> out(5);
  CodeKernels(CodeFormat::kF32).decode(code.data(), out.data(), 5);
  EXPECT_EQ(std::memcmp(out.data(), x, sizeof x), 0);
}

// Encode writes CodeBytes bytes exactly, zero padding, zero unused bits.
TEST(CodeLayout, PaddingIsZeroAndNothingWrittenPastTheCode) {
  std::vector<float> x, q;
  MakeData(0, 3, 100, &x, &q);
  for (CodeFormat f : kLossyFormats) {
    for (size_t dims = 1; dims <= 100; ++dims) {
      const size_t bytes = CodeBytes(f, dims);
      std::vector<uint8_t> buf(bytes + 16, 0xab);
      Encode(f, x.data(), dims, ErrorNorm::kL2, reinterpret_cast<float*>(buf.data()));
      for (size_t b = bytes; b < buf.size(); ++b) ASSERT_EQ(buf[b], 0xab) << CodeFormatName(f) << " " << dims;
      for (size_t b = HeaderBytes(f) + ValueBytes(f, dims); b < bytes; ++b) {
        ASSERT_EQ(buf[b], 0) << CodeFormatName(f) << " dims=" << dims << " byte " << b;
      }
      if (f == CodeFormat::kBit && dims % 8 != 0) {
        ASSERT_EQ(buf[16 + dims / 8] >> (dims % 8), 0) << "bits past dims; dims=" << dims;
      }
    }
  }
}

// ---- encoder ---------------------------------------------------------------------------

// ||x - x^|| (L2 or L1) and ||x||, in long double, on the decoded x^.
long double ActualError(const float* x, const std::vector<float>& xhat, size_t n, ErrorNorm norm) {
  long double s = 0.0L;
  for (size_t i = 0; i < n; ++i) {
    const long double d = static_cast<long double>(x[i]) - static_cast<long double>(xhat[i]);
    s += norm == ErrorNorm::kL1 ? std::fabs(d) : d * d;
  }
  return norm == ErrorNorm::kL1 ? s : std::sqrt(s);
}

long double ActualNorm(const float* x, size_t n) {
  long double s = 0.0L;
  for (size_t i = 0; i < n; ++i) s += static_cast<long double>(x[i]) * x[i];
  return std::sqrt(s);
}

// A rounded-up field: never below the exact value, and at most a few ulps
// above it: v <= got <= v * (1 + 2^-21) + 2^-148 (the encoder raises its
// double sum by at most ~2^-38 relative and rounds up to a float: at most one
// float ulp, 2^-23 relative, above v), or infinity when v is within 2^-30 of
// FLT_MAX or beyond it (where rounding up may overflow). Exactly 0 when v is 0.
void ExpectRoundedUp(float got, long double v, const char* what, const std::string& where) {
  EXPECT_GE(static_cast<long double>(got), v) << what << " " << where;
  if (v == 0.0L) {
    EXPECT_EQ(got, 0.0f) << what << " " << where;
  } else if (v >= static_cast<long double>(kFltMax) * (1.0L - std::ldexp(1.0L, -30)) && std::isinf(got)) {
    SUCCEED();
  } else {
    EXPECT_LE(static_cast<long double>(got), v * (1.0L + std::ldexp(1.0L, -21)) + std::ldexp(1.0L, -148))
        << what << " " << where << " got=" << got << " v=" << static_cast<double>(v);
  }
}

void CheckHeader(CodeFormat f, const float* x, size_t n, ErrorNorm norm, const std::string& where) {
  const std::vector<float> code = EncodeToVector(f, x, n, norm);
  const std::vector<float> xhat = RefDecode(f, code.data(), n);
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(std::isfinite(xhat[i])) << where << " i=" << i;
  ExpectRoundedUp(CodeError(f, code.data()), ActualError(x, xhat, n, norm), "err", where);
  ExpectRoundedUp(CodeNorm(f, code.data()), ActualNorm(x, n), "norm", where);
}

TEST(CodeEncode, ErrAndNormAreTightUpperBounds) {
  for (CodeFormat f : kLossyFormats) {
    for (int mode = 0; mode < 4; ++mode) {
      std::vector<float> x, q;
      MakeData(mode, 40u + static_cast<uint32_t>(mode), 1600, &x, &q);
      std::vector<size_t> lengths;
      for (size_t n = 1; n <= 300; ++n) lengths.push_back(n);
      for (size_t n : {783u, 784u, 1023u, 1536u, 1600u}) lengths.push_back(n);
      for (size_t n : lengths) {
        for (ErrorNorm norm : {ErrorNorm::kL2, ErrorNorm::kL1}) {
          CheckHeader(f, x.data(), n, norm,
                      std::string(CodeFormatName(f)) + " " + kModes[mode] + " n=" + std::to_string(n) +
                          (norm == ErrorNorm::kL1 ? " L1" : " L2"));
        }
      }
    }
  }
}

TEST(CodeEncode, F16AndBF16RoundToNearestEven) {
  std::vector<float> x, q;
  MakeData(1, 8, 1000, &x, &q);
  const std::vector<float> h = EncodeToVector(CodeFormat::kF16, x.data(), 1000, ErrorNorm::kL2);
  const std::vector<float> b = EncodeToVector(CodeFormat::kBF16, x.data(), 1000, ErrorNorm::kL2);
  for (size_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(Value16(h.data(), i), FloatToHalf(x[i])) << i;  // |x| <= 1000: no clamping
    // bf16: the nearest of the two truncations, ties to even.
    const uint32_t u = FloatBits(x[i]);
    const uint16_t down = static_cast<uint16_t>(u >> 16);
    const double dd = std::fabs(static_cast<double>(x[i]) - BF16ToFloat(down));
    const double du = std::fabs(static_cast<double>(x[i]) - BF16ToFloat(static_cast<uint16_t>(down + 1)));
    const uint16_t want = dd < du ? down : du < dd ? static_cast<uint16_t>(down + 1) : (down & 1) ? down + 1 : down;
    ASSERT_EQ(Value16(b.data(), i), want) << i;
  }
  // Ties.
  const float ties[] = {1.0f + std::ldexp(1.0f, -8), 1.0f + 3 * std::ldexp(1.0f, -8),
                        1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20), -(1.0f + std::ldexp(1.0f, -8))};
  const std::vector<float> t = EncodeToVector(CodeFormat::kBF16, ties, 4, ErrorNorm::kL2);
  EXPECT_EQ(Value16(t.data(), 0), 0x3f80);  // 1
  EXPECT_EQ(Value16(t.data(), 1), 0x3f82);  // 1 + 2^-6 (even)
  EXPECT_EQ(Value16(t.data(), 2), 0x3f81);  // above the tie: up
  EXPECT_EQ(Value16(t.data(), 3), 0xbf80);  // -1
  const float half_ties[] = {2049.0f, 2051.0f};
  const std::vector<float> ht = EncodeToVector(CodeFormat::kF16, half_ties, 2, ErrorNorm::kL1);
  EXPECT_EQ(HalfToFloat(Value16(ht.data(), 0)), 2048.0f);
  EXPECT_EQ(HalfToFloat(Value16(ht.data(), 1)), 2052.0f);
  EXPECT_EQ(CodeError(CodeFormat::kF16, ht.data()), std::nextafter(2.0f, 3.0f));  // L1 error 2, rounded up
}

TEST(CodeEncode, ExactlyRepresentableValuesRoundTripWithZeroError) {
  std::mt19937 rng(5);
  for (size_t n : {1u, 7u, 128u, 129u, 1000u}) {
    std::vector<float> hx(n), bx(n);
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      do h = static_cast<uint16_t>(rng()); while (!HalfIsFinite(h));
      hx[i] = HalfToFloat(h);
      uint16_t b;
      do b = static_cast<uint16_t>(rng()); while ((b & 0x7f80u) == 0x7f80u);
      bx[i] = BF16ToFloat(b);
    }
    for (ErrorNorm norm : {ErrorNorm::kL2, ErrorNorm::kL1}) {
      const std::vector<float> h = EncodeToVector(CodeFormat::kF16, hx.data(), n, norm);
      EXPECT_EQ(CodeError(CodeFormat::kF16, h.data()), 0.0f) << n;
      EXPECT_EQ(RefDecode(CodeFormat::kF16, h.data(), n), hx) << n;
      const std::vector<float> b = EncodeToVector(CodeFormat::kBF16, bx.data(), n, norm);
      EXPECT_EQ(CodeError(CodeFormat::kBF16, b.data()), 0.0f) << n;
      EXPECT_EQ(RefDecode(CodeFormat::kBF16, b.data(), n), bx) << n;
    }
  }
}

TEST(CodeEncode, ConstantVectors) {
  for (float c : {0.0f, 1.0f, -3.75f, 1e-30f, -kFltMax, 12345.678f}) {
    for (size_t n : {1u, 5u, 8u, 9u, 784u}) {
      const std::vector<float> x(n, c);
      const std::string where = "c=" + std::to_string(c) + " n=" + std::to_string(n);
      // i8: step 0, every code 0, x^ = lo = c.
      const std::vector<float> i8 = EncodeToVector(CodeFormat::kI8, x.data(), n, ErrorNorm::kL2);
      EXPECT_EQ(Field(i8.data(), 2), c) << where;
      EXPECT_EQ(Field(i8.data(), 3), 0.0f) << where;
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(BytesOf(i8.data())[16 + i], 0) << where;
      EXPECT_EQ(CodeError(CodeFormat::kI8, i8.data()), 0.0f) << where;
      EXPECT_EQ(RefDecode(CodeFormat::kI8, i8.data(), n), x) << where;
      // bit: no value above the mean, so every bit 0, lo = c, hi = 0.
      const std::vector<float> bit = EncodeToVector(CodeFormat::kBit, x.data(), n, ErrorNorm::kL1);
      for (size_t i = 0; i < n; ++i) ASSERT_FALSE(Bit(bit.data(), i)) << where;
      EXPECT_EQ(Field(bit.data(), 2), c) << where;
      EXPECT_EQ(Field(bit.data(), 3), 0.0f) << where;
      EXPECT_EQ(CodeError(CodeFormat::kBit, bit.data()), 0.0f) << where;
      ExpectRoundedUp(CodeNorm(CodeFormat::kBit, bit.data()), ActualNorm(x.data(), n), "norm", where);
    }
  }
}

// bit i = x[i] > mean; hi and lo are the means of the two groups; i8 has
// lo = min, step ~ (max - min) / 255 with 16 significant bits, and the
// nearest code.
TEST(CodeEncode, BitAndI8ReconstructionsAreTheDocumentedOnes) {
  for (int mode = 0; mode < 4; ++mode) {
    std::vector<float> x, q;
    MakeData(mode, 60u + static_cast<uint32_t>(mode), 1536, &x, &q);
    for (size_t n : {1u, 2u, 3u, 7u, 8u, 9u, 63u, 127u, 128u, 129u, 783u, 784u, 1023u, 1536u}) {
      const std::string where = std::string(kModes[mode]) + " n=" + std::to_string(n);
      // bit
      const std::vector<float> bit = EncodeToVector(CodeFormat::kBit, x.data(), n, ErrorNorm::kL2);
      double sum = 0.0;
      for (size_t i = 0; i < n; ++i) sum += x[i];
      const double mean = sum / static_cast<double>(n);
      double s1 = 0.0, s0 = 0.0;
      size_t n1 = 0;
      for (size_t i = 0; i < n; ++i) {
        const bool above = x[i] > mean;
        ASSERT_EQ(Bit(bit.data(), i), above) << where << " i=" << i;
        (above ? s1 : s0) += x[i];
        n1 += above ? 1 : 0;
      }
      EXPECT_EQ(Field(bit.data(), 3), n1 ? static_cast<float>(s1 / static_cast<double>(n1)) : 0.0f) << where;
      EXPECT_EQ(Field(bit.data(), 2), n1 < n ? static_cast<float>(s0 / static_cast<double>(n - n1)) : 0.0f) << where;
      // i8
      const std::vector<float> i8 = EncodeToVector(CodeFormat::kI8, x.data(), n, ErrorNorm::kL2);
      const float lo = *std::min_element(x.begin(), x.begin() + static_cast<long>(n));
      const float hi = *std::max_element(x.begin(), x.begin() + static_cast<long>(n));
      const double exact_step = (static_cast<double>(hi) - lo) / 255.0;
      const float step = Field(i8.data(), 3);
      EXPECT_EQ(Field(i8.data(), 2), lo) << where;
      EXPECT_GE(static_cast<double>(step), exact_step) << where;
      EXPECT_LE(static_cast<double>(step), exact_step * (1.0 + std::ldexp(1.0, -15))) << where;
      EXPECT_EQ(FloatBits(step) & 0xffu, 0u) << "step has more than 16 significant bits; " << where;
      for (size_t i = 0; i < n; ++i) {
        const int c = BytesOf(i8.data())[16 + i];
        const double want = step > 0 ? (static_cast<double>(x[i]) - lo) / step : 0.0;
        ASSERT_LE(std::fabs(c - want), 0.5) << where << " i=" << i;
      }
    }
  }
}

TEST(CodeEncode, ExtremeValuesStayFinite) {
  const float big[] = {kFltMax, -kFltMax, 1e38f, -1e30f, 70000.0f, 65519.0f, 65520.0f, -65536.0f,
                       1e-30f,  -1e-30f,  1e-45f, 0.0f,  -0.0f,    1.0f,     65504.0f, -65504.0f};
  const size_t n = sizeof big / sizeof big[0];
  for (CodeFormat f : kLossyFormats) {
    for (ErrorNorm norm : {ErrorNorm::kL2, ErrorNorm::kL1}) {
      for (size_t len = 1; len <= n; ++len) {
        CheckHeader(f, big, len, norm, std::string(CodeFormatName(f)) + " extremes len=" + std::to_string(len));
      }
    }
  }
  // f16 clamps to +-65504, bf16 to the largest finite bf16 (0x7f7f).
  const std::vector<float> h = EncodeToVector(CodeFormat::kF16, big, n, ErrorNorm::kL2);
  const std::vector<float> hx = RefDecode(CodeFormat::kF16, h.data(), n);
  EXPECT_EQ(hx[0], 65504.0f);
  EXPECT_EQ(hx[1], -65504.0f);
  EXPECT_EQ(hx[4], 65504.0f);
  EXPECT_EQ(hx[6], 65504.0f);
  EXPECT_EQ(hx[7], -65504.0f);
  EXPECT_EQ(hx[8], 0.0f);
  EXPECT_TRUE(std::isinf(CodeError(CodeFormat::kF16, h.data())));  // ~FLT_MAX * sqrt(2): beyond float
  const std::vector<float> b = EncodeToVector(CodeFormat::kBF16, big, n, ErrorNorm::kL2);
  EXPECT_EQ(Value16(b.data(), 0), 0x7f7f);
  EXPECT_EQ(Value16(b.data(), 1), 0xff7f);
  EXPECT_LE(std::fabs(BF16ToFloat(Value16(b.data(), 8)) - 1e-30), std::ldexp(1e-30, -8));  // within half a bf16 ulp
  EXPECT_TRUE(std::isfinite(CodeError(CodeFormat::kBF16, b.data())));
  // Tiny vectors keep a relative precision.
  const float tiny[] = {1e-30f, 2e-30f, -3e-30f, 1.5e-30f};
  const std::vector<float> t = EncodeToVector(CodeFormat::kI8, tiny, 4, ErrorNorm::kL2);
  EXPECT_LT(CodeError(CodeFormat::kI8, t.data()), 1e-31f);
  for (CodeFormat f : kLossyFormats) CheckHeader(f, tiny, 4, ErrorNorm::kL2, std::string("tiny ") + CodeFormatName(f));
  // Subnormal range: step 2^-149.
  const float sub[] = {0.0f, 1e-44f, 3e-45f};
  const std::vector<float> s = EncodeToVector(CodeFormat::kI8, sub, 3, ErrorNorm::kL1);
  EXPECT_EQ(RefDecode(CodeFormat::kI8, s.data(), 3)[1], 1e-44f);
  for (CodeFormat f : kLossyFormats) CheckHeader(f, sub, 3, ErrorNorm::kL1, std::string("subnormal ") + CodeFormatName(f));
  // i8 over (nearly) the whole float range: finite x^, code 255 near the top.
  const float wide[] = {0.0f, kFltMax, 1.0f};
  const std::vector<float> w = EncodeToVector(CodeFormat::kI8, wide, 3, ErrorNorm::kL2);
  const std::vector<float> wx = RefDecode(CodeFormat::kI8, w.data(), 3);
  EXPECT_TRUE(std::isfinite(wx[1]));
  EXPECT_GE(wx[1], kFltMax * (1.0f - std::ldexp(1.0f, -14)));
}

// ---- guard pages -------------------------------------------------------------------------

// `bytes` bytes ending right before a PROT_NONE page (or starting right after
// one); any read outside them kills the test binary with SIGSEGV.
class GuardedBytes {
 public:
  GuardedBytes(const void* values, size_t bytes, bool at_end) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_bytes = ((bytes + page_ - 1) / page_) * page_;
    size_ = data_bytes + page_;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    base_ = static_cast<char*>(m);
    if (at_end) {
      mprotect(base_ + data_bytes, page_, PROT_NONE);
      data_ = base_ + data_bytes - bytes;
    } else {
      mprotect(base_, page_, PROT_NONE);
      data_ = base_ + page_;
    }
    std::memcpy(data_, values, bytes);
  }
  ~GuardedBytes() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  const float* floats() const { return reinterpret_cast<const float*>(data_); }

 private:
  size_t page_ = 0, size_ = 0;
  char* base_ = nullptr;
  char* data_ = nullptr;
};

void CheckGuarded(bool at_end) {
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 80; ++n) lengths.push_back(n);
  for (size_t n : {127u, 128u, 129u, 255u, 767u, 768u, 769u, 783u, 784u, 1023u, 1024u, 1025u, 1535u, 1536u,
                   1537u, 4095u, 16000u}) {
    lengths.push_back(n);
  }
  for (CodeFormat f : kAllFormats) {
    for (const CodeKernelTable& k : AllRunnableCodeTargets(f)) {
      SCOPED_TRACE(std::string(CodeFormatName(f)) + " " + k.target);
      for (size_t n : lengths) {
        std::vector<float> x, q;
        MakeData(0, static_cast<uint32_t>(n), n, &x, &q);
        const std::vector<float> code = EncodeToVector(f, x.data(), n, ErrorNorm::kL2);
        const std::vector<float> xhat = RefDecode(f, code.data(), n);
        GuardedBytes gc(code.data(), code.size() * sizeof(float), at_end);
        GuardedBytes gq(q.data(), n * sizeof(float), at_end);
        ASSERT_NE(gc.floats(), nullptr);
        ASSERT_NE(gq.floats(), nullptr);
        CheckKernels(k, gq.floats(), gc.floats(), n, xhat, ReferenceOf(q.data(), xhat, n),
                     at_end ? "guard_after" : "guard_before");
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

TEST(CodeKernelGuardPage, NoReadPastTheEnd) { CheckGuarded(/*at_end=*/true); }
TEST(CodeKernelGuardPage, NoReadBeforeTheStart) { CheckGuarded(/*at_end=*/false); }

}  // namespace
}  // namespace vecann::kernels
