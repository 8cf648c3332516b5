// Unit tests for half precision: the scalar conversions (half_convert.h)
// exhaustively and against the compiler's own half type, and every half kernel of
// every runnable Highway target (half.h) against the double-precision
// reference on the exactly widened values, for lengths 1..1100 with unaligned
// inputs, plus guard-page checks that no kernel reads outside [p, p + n).
#include "kernels/half.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/half_convert.h"
#include "kernels_reference.h"

namespace vecann::kernels {

static void PrintTo(const HalfKernelTable& t, std::ostream* os) { *os << t.target; }

namespace {

namespace ref = reference;

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// ---- scalar conversions ----------------------------------------------------------

TEST(HalfConvert, EveryFiniteHalfWidensExactlyAndNarrowsBack) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    if (!HalfIsFinite(bits)) continue;
    const float f = HalfToFloat(bits);
    // The value from its fields: (-1)^s * 2^(e-15) * (1 + m/1024), or subnormal.
    const int e = (bits >> 10) & 0x1f;
    const int m = bits & 0x3ff;
    const double want = (bits & 0x8000 ? -1.0 : 1.0) *
                        (e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25));
    ASSERT_EQ(static_cast<double>(f), want) << std::hex << h;
    ASSERT_EQ(std::signbit(f), (bits & 0x8000) != 0) << std::hex << h;
    ASSERT_EQ(FloatToHalf(f), bits) << std::hex << h;
  }
}

TEST(HalfConvert, InfinityAndNaN) {
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isinf(HalfToFloat(0xfc00)) && HalfToFloat(0xfc00) < 0);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_FALSE(HalfIsFinite(FloatToHalf(std::nanf(""))));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(std::nanf("")))));
}

TEST(HalfConvert, RoundsToNearestEvenAndOverflowsAt65520) {
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65519.996f), 0x7bff);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);  // halfway to 65536: ties to even = infinity
  EXPECT_EQ(FloatToHalf(-65520.0f), 0xfc00);
  EXPECT_EQ(FloatToHalf(1e38f), 0x7c00);
  EXPECT_EQ(HalfToFloat(FloatToHalf(2049.0f)), 2048.0f);  // tie, to even
  EXPECT_EQ(HalfToFloat(FloatToHalf(2051.0f)), 2052.0f);  // tie, to even
  EXPECT_EQ(HalfToFloat(FloatToHalf(2049.001f)), 2050.0f);
  // Subnormals: the smallest is 2^-24; half of it ties to zero, just above rounds up.
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(FloatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(FloatToHalf(-std::ldexp(1.0f, -26)), 0x8000);
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);  // 1.5 units: tie, to even
  // The largest subnormal rounds up into the smallest normal.
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
}

// The compiler's own half type as an independent reference: _Float16 on x86
// (libgcc's correctly rounded conversion), __fp16 on aarch64 (the FCVT
// instruction; g++ has no _Float16 in C++ there).
#if defined(__aarch64__)
#define VECANN_COMPILER_HALF __fp16
#elif defined(__FLT16_MAX__)
#define VECANN_COMPILER_HALF _Float16
#endif

#ifdef VECANN_COMPILER_HALF
// Over a sweep of float bit patterns.
TEST(HalfConvert, MatchesCompilerFloat16) {
  std::mt19937 rng(11);
  auto check = [](uint32_t bits) {
    const float f = BitsToFloat(bits);
    if (std::isnan(f)) return;
    const VECANN_COMPILER_HALF h = static_cast<VECANN_COMPILER_HALF>(f);
    uint16_t want;
    std::memcpy(&want, &h, sizeof want);
    ASSERT_EQ(FloatToHalf(f), want) << std::hex << bits;
  };
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 0x1001) check(static_cast<uint32_t>(bits));
  for (int i = 0; i < 2000000; ++i) check(rng());
  // Every float whose magnitude is in the half range's interesting part,
  // around each half boundary.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    uint32_t bits;
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    std::memcpy(&bits, &f, sizeof bits);
    for (int d = -3; d <= 3; ++d) check(bits + static_cast<uint32_t>(d) + 0x1000u * (d & 1));
  }
}
#endif

// ---- kernels -------------------------------------------------------------------

constexpr size_t kMaxLen = 1100;
constexpr size_t kMaxOffset = 3;  // inputs start 0..3 halves past a 64-byte boundary

// Tolerance as in kernels_test.cpp: the kernels accumulate in float, in at
// least 8 independent lanes on SIMD targets (2 on SCALAR); twice the
// worst-case recursive-summation bound, at least 2e-5, relative to
// sum |term|. The widening itself is exact.
size_t MinLanes(const HalfKernelTable& k) { return std::string(k.target) == "SCALAR" ? 2 : 8; }

double RelTol(size_t n, size_t lanes) {
  const double l = static_cast<double>(lanes);
  return std::max(2e-5, 2.0 * (static_cast<double>(n) / l + std::log2(l) + 3.0) * std::ldexp(1.0, -24));
}

void ExpectClose(double got, double want, double sum_abs, size_t n, size_t lanes, const char* what,
                 const std::string& where) {
  EXPECT_LE(std::fabs(got - want), RelTol(n, lanes) * sum_abs + 1e-30)
      << what << " n=" << n << " " << where << " got=" << got << " want=" << want;
}

double SumAbsProducts(const uint16_t* a, const uint16_t* b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(HalfToFloat(a[i])) * HalfToFloat(b[i]));
  return s;
}

// mode 0: uniform [-1, 1]; 1: mixed magnitudes +-10^U(-4, 3) (subnormals
// included); 2: near-equal pairs around +-100; 3: non-negative [0, 10).
void MakeHalves(int mode, uint32_t seed, size_t count, std::vector<uint16_t>* a, std::vector<uint16_t>* b) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u11(-1.0f, 1.0f), exp10(-4.0f, 3.0f), u010(0.0f, 10.0f);
  std::bernoulli_distribution coin(0.5);
  a->resize(count);
  b->resize(count);
  for (size_t i = 0; i < count; ++i) {
    float x, y;
    switch (mode) {
      case 0:
        x = u11(rng);
        y = u11(rng);
        break;
      case 1:
        x = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        y = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        break;
      case 2:
        x = (coin(rng) ? -100.0f : 100.0f) * (1.0f + 0.5f * u11(rng));
        y = x * (1.0f + 1e-2f * u11(rng));
        break;
      default:
        x = u010(rng);
        y = u010(rng);
        break;
    }
    (*a)[i] = FloatToHalf(x);
    (*b)[i] = FloatToHalf(y);
  }
}

void CheckAll(const HalfKernelTable& k, const uint16_t* a, const uint16_t* b, size_t n, const std::string& where) {
  const size_t lanes = MinLanes(k);
  const double l2 = ref::HalfSquaredL2(a, b, n);
  ExpectClose(k.squared_l2(a, b, n), l2, l2, n, lanes, "squared_l2", where);
  const double sum_abs = SumAbsProducts(a, b, n);
  const double ip = ref::HalfInnerProduct(a, b, n);
  ExpectClose(k.inner_product(a, b, n), ip, sum_abs, n, lanes, "inner_product", where);
  EXPECT_EQ(k.neg_inner_product(a, b, n), -k.inner_product(a, b, n)) << where;
  const double l1 = ref::HalfL1(a, b, n);
  ExpectClose(k.l1(a, b, n), l1, l1, n, lanes, "l1", where);
  const DotNorms dn = k.dot_norms(a, b, n);
  const ref::DotNormsResult want = ref::HalfDotNorms(a, b, n);
  ExpectClose(dn.dot, want.dot, sum_abs, n, lanes, "dot", where);
  ExpectClose(dn.norm_a, want.norm_a, want.norm_a, n, lanes, "norm_a", where);
  ExpectClose(dn.norm_b, want.norm_b, want.norm_b, n, lanes, "norm_b", where);
  std::vector<float> widened(n + 1, -7.0f);
  k.to_float(a, widened.data(), n);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(widened[i], HalfToFloat(a[i])) << where << " i=" << i;
  ASSERT_EQ(widened[n], -7.0f) << "to_float wrote past n; " << where;
}

class HalfKernelTest : public ::testing::TestWithParam<HalfKernelTable> {};

TEST_P(HalfKernelTest, MatchesReferenceForAllLengthsAndOffsets) {
  const HalfKernelTable& k = GetParam();
  static const char* kModes[] = {"uniform", "mixed_magnitude", "near_equal", "nonneg"};
  for (int mode = 0; mode < 4; ++mode) {
    std::vector<uint16_t> a, b;
    MakeHalves(mode, 77u + static_cast<uint32_t>(mode), kMaxLen + kMaxOffset + 1, &a, &b);
    for (size_t n = 1; n <= kMaxLen; ++n) {
      for (size_t oa : {0u, 1u, 3u}) {
        const size_t ob = (oa + 2) % (kMaxOffset + 1);
        CheckAll(k, a.data() + oa, b.data() + ob, n,
                 std::string(kModes[mode]) + " offsets=" + std::to_string(oa) + "," + std::to_string(ob));
      }
    }
  }
}

TEST_P(HalfKernelTest, SmallExactCasesAndLongArrays) {
  const HalfKernelTable& k = GetParam();
  const uint16_t a[] = {FloatToHalf(1), FloatToHalf(-2), FloatToHalf(3)};
  const uint16_t b[] = {FloatToHalf(4), FloatToHalf(5), FloatToHalf(-6)};
  EXPECT_EQ(k.squared_l2(a, b, 3), 9.0f + 49.0f + 81.0f);
  EXPECT_EQ(k.inner_product(a, b, 3), -24.0f);
  EXPECT_EQ(k.neg_inner_product(a, b, 3), 24.0f);
  EXPECT_EQ(k.l1(a, b, 3), 19.0f);
  const DotNorms dn = k.dot_norms(a, b, 3);
  EXPECT_EQ(dn.dot, -24.0f);
  EXPECT_EQ(dn.norm_a, 14.0f);
  EXPECT_EQ(dn.norm_b, 77.0f);
  EXPECT_EQ(k.squared_l2(a, a, 3), 0.0f);
  // The extremes of the half range, and subnormals.
  const uint16_t big[] = {0x7bff, 0xfbff, 0x0001, 0x8001, 0x03ff};
  const uint16_t zero[] = {0, 0, 0, 0, 0};
  EXPECT_EQ(k.l1(big, zero, 5), static_cast<float>(2 * 65504.0 + 2 * std::ldexp(1.0, -24) +
                                                   1023 * std::ldexp(1.0, -24)));
  std::vector<uint16_t> la, lb;
  MakeHalves(0, 5, 16004, &la, &lb);
  for (size_t n : {1536u, 2000u, 4096u, 4097u, 10000u, 15999u, 16000u}) {
    CheckAll(k, la.data() + 1, lb.data() + 3, n, "long");
  }
}

INSTANTIATE_TEST_SUITE_P(AllTargets, HalfKernelTest, ::testing::ValuesIn(AllRunnableHalfTargets()),
                         [](const ::testing::TestParamInfo<HalfKernelTable>& info) {
                           return std::string(info.param.target);
                         });

TEST(HalfKernelDispatch, BestIsFirstRunnableAndFallbackLast) {
  const std::vector<HalfKernelTable> all = AllRunnableHalfTargets();
  ASSERT_FALSE(all.empty());
  EXPECT_STREQ(HalfKernels().target, all.front().target);
  EXPECT_EQ(HalfKernels().squared_l2, all.front().squared_l2);
  const std::string last = all.back().target;
  EXPECT_TRUE(last == "EMU128" || last == "SCALAR") << last;
  // The same target as the float kernels.
  EXPECT_STREQ(HalfKernels().target, Kernels().target);
}

// ---- guard pages -----------------------------------------------------------------

// n halves ending right before a PROT_NONE page (or starting right after one).
class GuardedHalves {
 public:
  GuardedHalves(const std::vector<uint16_t>& values, bool at_end) {
    const size_t n = values.size();
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_bytes = ((n * sizeof(uint16_t) + page_ - 1) / page_) * page_;
    size_ = data_bytes + page_;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return;
    base_ = static_cast<char*>(m);
    if (at_end) {
      mprotect(base_ + data_bytes, page_, PROT_NONE);
      data_ = reinterpret_cast<uint16_t*>(base_ + data_bytes) - n;
    } else {
      mprotect(base_, page_, PROT_NONE);
      data_ = reinterpret_cast<uint16_t*>(base_ + page_);
    }
    std::memcpy(data_, values.data(), n * sizeof(uint16_t));
  }
  ~GuardedHalves() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  GuardedHalves(const GuardedHalves&) = delete;
  GuardedHalves& operator=(const GuardedHalves&) = delete;
  const uint16_t* data() const { return data_; }

 private:
  size_t page_ = 0, size_ = 0;
  char* base_ = nullptr;
  uint16_t* data_ = nullptr;
};

void CheckGuarded(bool at_end) {
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 80; ++n) lengths.push_back(n);
  for (size_t n : {127u, 128u, 129u, 767u, 768u, 769u, 1535u, 1536u, 1537u, 4095u, 16000u}) lengths.push_back(n);
  for (const HalfKernelTable& k : AllRunnableHalfTargets()) {
    SCOPED_TRACE(k.target);
    for (size_t n : lengths) {
      std::vector<uint16_t> va, vb;
      MakeHalves(0, static_cast<uint32_t>(n), n, &va, &vb);
      GuardedHalves ga(va, at_end), gb(vb, at_end);
      ASSERT_NE(ga.data(), nullptr);
      ASSERT_NE(gb.data(), nullptr);
      CheckAll(k, ga.data(), gb.data(), n, at_end ? "guard_after" : "guard_before");
    }
  }
}

TEST(HalfKernelGuardPage, NoReadPastTheEnd) { CheckGuarded(true); }
TEST(HalfKernelGuardPage, NoReadBeforeTheStart) { CheckGuarded(false); }

}  // namespace
}  // namespace vecann::kernels
