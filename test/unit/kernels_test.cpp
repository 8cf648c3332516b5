// Unit tests for the SIMD distance kernels (src/kernels/distance.h): every
// kernel of every runnable Highway target against the double-precision scalar
// reference (test/unit/kernels_reference.h) for all lengths 1..1100 with unaligned
// inputs, dispatch sanity (Kernels() is the best runnable target), and
// guard-page checks that no kernel reads outside [p, p + n).
#include "kernels/distance.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hwy/targets.h"
#include "kernels_reference.h"

namespace vecann::kernels {

// gtest prints a failing parameter with this (found by ADL) instead of a hex dump.
static void PrintTo(const KernelTable& t, std::ostream* os) { *os << t.target; }

namespace {

namespace ref = reference;

constexpr size_t kMaxLen = 1100;   // every length 1..kMaxLen is tested
constexpr size_t kMaxOffset = 3;   // inputs start 0..3 floats past a 64-byte boundary

// Tolerance. The kernels accumulate in float: each SIMD lane of each unrolled
// accumulator (4 vectors; 2 for dot_norms) keeps its own running sum, and the
// lanes are combined by a tree reduction at the end. With L independent
// accumulator lanes each one sums at most ceil(n / L) terms, so the classic
// worst-case bound for recursive summation gives
//   |float result - exact| <= (n / L + log2(L) + 3) * 2^-24 * sum_i |term_i|
// (the +3 covers rounding of each product/difference, the tail and the final
// conversion). L >= 8 on every SIMD target (128-bit: 4 lanes x 2..4 unroll;
// AVX2/AVX3: 8/16 lanes x 2..4), but only 2 on the SCALAR fallback (1 lane x 2
// for dot_norms). We allow twice the bound, and at least 2e-5, relative to
// sum |term_i| -- which is the exact result itself for the non-negative sums
// (L2, L1, norms); for the inner product it is sum |a_i b_i|, because
// cancellation can make the result arbitrarily small. For n <= 1100 that is
// 2e-5 on SIMD targets and 6.6e-5 on SCALAR; a lost or duplicated element
// (~1/n relative, >= 9e-4) is still far outside it. Typical errors are ~1e-7.
size_t MinAccumulatorLanes(const KernelTable& k) {
  return std::string(k.target) == "SCALAR" ? 2 : 8;
}

double RelTol(size_t n, size_t lanes) {
  const double l = static_cast<double>(lanes);
  const double bound =
      (static_cast<double>(n) / l + std::log2(l) + 3.0) * std::ldexp(1.0, -24);
  return std::max(2e-5, 2.0 * bound);
}

// Tolerance context: which kernel table, and on which inputs.
struct Ctx {
  size_t lanes;
  size_t oa, ob;
  const char* data;
};

void ExpectClose(double got, double want, double sum_abs, size_t n, const char* what,
                 const Ctx& c) {
  const double tol = RelTol(n, c.lanes) * sum_abs + 1e-30;
  EXPECT_LE(std::fabs(got - want), tol)
      << what << " n=" << n << " offsets=(" << c.oa << "," << c.ob << ") data=" << c.data
      << " got=" << got << " want=" << want << " sum|terms|=" << sum_abs;
}

// 64-byte aligned float buffer, so offsets 1..3 give genuinely unaligned
// pointers for every vector width.
struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer AllocAligned(size_t count) {
  const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
  return Buffer(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

// A pair of input arrays of kMaxLen + kMaxOffset floats.
struct Inputs {
  const char* name;
  Buffer a, b;
};

// mode 0: uniform in [-1, 1]
// mode 1: mixed magnitudes, random sign * 10^U(-3, 3)
// mode 2: near-equal pairs around +-100 (b = a * (1 +- 1e-3)): heavy
//         cancellation in a - b, large norms
// mode 3: all non-negative uniform [0, 10) (no cancellation in the dot product)
Inputs MakeInputs(int mode, uint32_t seed) {
  static const char* kNames[] = {"uniform", "mixed_magnitude", "near_equal", "nonneg"};
  const size_t count = kMaxLen + kMaxOffset + 1;
  Inputs in{kNames[mode], AllocAligned(count), AllocAligned(count)};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u11(-1.0f, 1.0f);
  std::uniform_real_distribution<float> exp10(-3.0f, 3.0f);
  std::uniform_real_distribution<float> u010(0.0f, 10.0f);
  std::bernoulli_distribution coin(0.5);
  for (size_t i = 0; i < count; ++i) {
    switch (mode) {
      case 0:
        in.a[i] = u11(rng);
        in.b[i] = u11(rng);
        break;
      case 1:
        in.a[i] = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        in.b[i] = (coin(rng) ? -1.0f : 1.0f) * std::pow(10.0f, exp10(rng));
        break;
      case 2: {
        const float x = (coin(rng) ? -100.0f : 100.0f) * (1.0f + 0.5f * u11(rng));
        in.a[i] = x;
        in.b[i] = x * (1.0f + 1e-3f * u11(rng));
        break;
      }
      default:
        in.a[i] = u010(rng);
        in.b[i] = u010(rng);
        break;
    }
  }
  return in;
}

// Sums of |term| for the tolerance.
double SumAbsProducts(const float* a, const float* b, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(a[i]) * b[i]);
  return s;
}

// Offset pairs (for a, for b) tried for every length.
constexpr size_t kOffsets[][2] = {{1, 2}, {2, 3}, {3, 1}, {0, 0}, {3, 3}};

// Runs check(a, b, n, ctx) for all data modes, lengths 1..kMaxLen and offset
// pairs.
template <class Check>
void ForAllInputs(const KernelTable& k, Check check) {
  for (int mode = 0; mode < 4; ++mode) {
    const Inputs in = MakeInputs(mode, 1234u + static_cast<uint32_t>(mode));
    for (size_t n = 1; n <= kMaxLen; ++n) {
      for (const auto& off : kOffsets) {
        const Ctx ctx{MinAccumulatorLanes(k), off[0], off[1], in.name};
        check(in.a.get() + off[0], in.b.get() + off[1], n, ctx);
      }
    }
  }
}

class KernelTargetTest : public ::testing::TestWithParam<KernelTable> {};

TEST_P(KernelTargetTest, SquaredL2MatchesReference) {
  const KernelTable& k = GetParam();
  ForAllInputs(k, [&](const float* a, const float* b, size_t n, const Ctx& c) {
    const double want = ref::SquaredL2(a, b, n);
    ExpectClose(k.squared_l2(a, b, n), want, want, n, "squared_l2", c);
  });
}

TEST_P(KernelTargetTest, InnerProductMatchesReference) {
  const KernelTable& k = GetParam();
  ForAllInputs(k, [&](const float* a, const float* b, size_t n, const Ctx& c) {
    ExpectClose(k.inner_product(a, b, n), ref::InnerProduct(a, b, n),
                SumAbsProducts(a, b, n), n, "inner_product", c);
  });
}

TEST_P(KernelTargetTest, NegInnerProductMatchesReference) {
  const KernelTable& k = GetParam();
  ForAllInputs(k, [&](const float* a, const float* b, size_t n, const Ctx& c) {
    const float got = k.neg_inner_product(a, b, n);
    ExpectClose(got, -ref::InnerProduct(a, b, n), SumAbsProducts(a, b, n), n,
                "neg_inner_product", c);
    // Same accumulation order as inner_product, so exactly its negation.
    EXPECT_EQ(got, -k.inner_product(a, b, n)) << "n=" << n;
  });
}

TEST_P(KernelTargetTest, L1MatchesReference) {
  const KernelTable& k = GetParam();
  ForAllInputs(k, [&](const float* a, const float* b, size_t n, const Ctx& c) {
    const double want = ref::L1(a, b, n);
    ExpectClose(k.l1(a, b, n), want, want, n, "l1", c);
  });
}

TEST_P(KernelTargetTest, DotNormsMatchesReference) {
  const KernelTable& k = GetParam();
  ForAllInputs(k, [&](const float* a, const float* b, size_t n, const Ctx& c) {
    const DotNorms got = k.dot_norms(a, b, n);
    const ref::DotNormsResult want = ref::DotNorms(a, b, n);
    ExpectClose(got.dot, want.dot, SumAbsProducts(a, b, n), n, "dot_norms.dot", c);
    ExpectClose(got.norm_a, want.norm_a, want.norm_a, n, "dot_norms.norm_a", c);
    ExpectClose(got.norm_b, want.norm_b, want.norm_b, n, "dot_norms.norm_b", c);
  });
}

TEST_P(KernelTargetTest, IdenticalInputsAreAtDistanceZero) {
  const KernelTable& k = GetParam();
  const Inputs in = MakeInputs(1, 99);
  for (size_t n = 1; n <= kMaxLen; ++n) {
    const float* a = in.a.get() + 1;
    EXPECT_EQ(k.squared_l2(a, a, n), 0.0f) << "n=" << n;
    EXPECT_EQ(k.l1(a, a, n), 0.0f) << "n=" << n;
  }
}

TEST_P(KernelTargetTest, SmallExactCases) {
  const KernelTable& k = GetParam();
  const float a[] = {1.0f, -2.0f, 3.0f};
  const float b[] = {4.0f, 5.0f, -6.0f};
  EXPECT_EQ(k.squared_l2(a, b, 1), 9.0f);
  EXPECT_EQ(k.squared_l2(a, b, 3), 9.0f + 49.0f + 81.0f);
  EXPECT_EQ(k.inner_product(a, b, 3), 4.0f - 10.0f - 18.0f);
  EXPECT_EQ(k.neg_inner_product(a, b, 3), 24.0f);
  EXPECT_EQ(k.l1(a, b, 3), 3.0f + 7.0f + 9.0f);
  const DotNorms dn = k.dot_norms(a, b, 3);
  EXPECT_EQ(dn.dot, -24.0f);
  EXPECT_EQ(dn.norm_a, 14.0f);
  EXPECT_EQ(dn.norm_b, 77.0f);
}

// Lengths up to the 16000 the extension allows, with the tolerance growing
// with n (see RelTol).
TEST_P(KernelTargetTest, LongArraysMatchReference) {
  const KernelTable& k = GetParam();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u11(-1.0f, 1.0f);
  const size_t max_n = 16000;
  Buffer a = AllocAligned(max_n + 4), b = AllocAligned(max_n + 4);
  for (size_t i = 0; i < max_n + 4; ++i) {
    a[i] = u11(rng);
    b[i] = u11(rng);
  }
  for (size_t n : {1536u, 2000u, 4096u, 4097u, 10000u, 15999u, 16000u}) {
    const float* pa = a.get() + 1;
    const float* pb = b.get() + 2;
    const Ctx c{MinAccumulatorLanes(k), 1, 2, "long_uniform"};
    const double l2 = ref::SquaredL2(pa, pb, n);
    ExpectClose(k.squared_l2(pa, pb, n), l2, l2, n, "squared_l2", c);
    ExpectClose(k.inner_product(pa, pb, n), ref::InnerProduct(pa, pb, n),
                SumAbsProducts(pa, pb, n), n, "inner_product", c);
    const double l1 = ref::L1(pa, pb, n);
    ExpectClose(k.l1(pa, pb, n), l1, l1, n, "l1", c);
    const DotNorms dn = k.dot_norms(pa, pb, n);
    const ref::DotNormsResult want = ref::DotNorms(pa, pb, n);
    ExpectClose(dn.norm_a, want.norm_a, want.norm_a, n, "norm_a", c);
    ExpectClose(dn.norm_b, want.norm_b, want.norm_b, n, "norm_b", c);
  }
}

std::string TargetParamName(const ::testing::TestParamInfo<KernelTable>& info) {
  return info.param.target;
}

INSTANTIATE_TEST_SUITE_P(AllTargets, KernelTargetTest,
                         ::testing::ValuesIn(AllRunnableTargets()), TargetParamName);

// ---------------------------------------------------------------------------
// Dispatch.

TEST(KernelDispatch, BestTargetIsFirstRunnableTarget) {
  const KernelTable& best = Kernels();
  const std::vector<KernelTable> all = AllRunnableTargets();
  ASSERT_FALSE(all.empty());
  ASSERT_NE(best.target, nullptr);
  std::cout << "[ INFO     ] Kernels().target = " << best.target << "; runnable:";
  for (const KernelTable& t : all) std::cout << ' ' << t.target;
  std::cout << '\n';

  EXPECT_STREQ(best.target, all.front().target);
  EXPECT_EQ(best.squared_l2, all.front().squared_l2);
  EXPECT_EQ(best.inner_product, all.front().inner_product);
  EXPECT_EQ(best.neg_inner_product, all.front().neg_inner_product);
  EXPECT_EQ(best.l1, all.front().l1);
  EXPECT_EQ(best.dot_norms, all.front().dot_norms);

  bool found = false;
  for (const KernelTable& t : all) {
    if (t.squared_l2 == best.squared_l2) found = true;
  }
  EXPECT_TRUE(found);
  // Resolved once: the same object every time.
  EXPECT_EQ(&Kernels(), &best);
}

TEST(KernelDispatch, PortableFallbackIsRunnableAndLast) {
  const std::vector<KernelTable> all = AllRunnableTargets();
  ASSERT_FALSE(all.empty());
  const std::string last = all.back().target;
  EXPECT_TRUE(last == "EMU128" || last == "SCALAR") << last;
  for (const KernelTable& t : all) {
    EXPECT_NE(std::string(t.target), "Unknown");
    EXPECT_NE(t.squared_l2, nullptr);
    EXPECT_NE(t.inner_product, nullptr);
    EXPECT_NE(t.neg_inner_product, nullptr);
    EXPECT_NE(t.l1, nullptr);
    EXPECT_NE(t.dot_norms, nullptr);
  }
}

TEST(KernelDispatch, ChoosesAvx512WhenTheCpuHasIt) {
  if ((hwy::SupportedTargets() & HWY_AVX3) == 0) {
    GTEST_SKIP() << "CPU has no AVX-512 (AVX3 target)";
  }
  EXPECT_EQ(std::string(Kernels().target).rfind("AVX3", 0), 0u) << Kernels().target;
}

TEST(KernelDispatch, WrappersCallTheBestTarget) {
  const Inputs in = MakeInputs(0, 5);
  const float* a = in.a.get() + 1;
  const float* b = in.b.get() + 3;
  const KernelTable& k = Kernels();
  for (size_t n : {1u, 17u, 96u, 768u, 1100u}) {
    EXPECT_EQ(SquaredL2(a, b, n), k.squared_l2(a, b, n));
    EXPECT_EQ(InnerProduct(a, b, n), k.inner_product(a, b, n));
    EXPECT_EQ(L1(a, b, n), k.l1(a, b, n));
    const DotNorms x = DotAndNorms(a, b, n), y = k.dot_norms(a, b, n);
    EXPECT_EQ(x.dot, y.dot);
    EXPECT_EQ(x.norm_a, y.norm_a);
    EXPECT_EQ(x.norm_b, y.norm_b);
  }
}

// ---------------------------------------------------------------------------
// Guard pages: an array whose last element is the last float before a
// PROT_NONE page (or whose first element is the first float after one). Any
// read outside [p, p + n) kills the test binary with SIGSEGV.

class GuardedArray {
 public:
  // at_end: array ends right before a guard page; otherwise it starts right
  // after one.
  GuardedArray(const float* values, size_t n, bool at_end) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t data_bytes = ((n * sizeof(float) + page_ - 1) / page_) * page_;
    size_ = data_bytes + page_;
    void* m = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED) return;
    base_ = static_cast<char*>(m);
    if (at_end) {
      mprotect(base_ + data_bytes, page_, PROT_NONE);
      data_ = reinterpret_cast<float*>(base_ + data_bytes) - n;
    } else {
      mprotect(base_, page_, PROT_NONE);
      data_ = reinterpret_cast<float*>(base_ + page_);
    }
    std::memcpy(data_, values, n * sizeof(float));
  }
  ~GuardedArray() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  GuardedArray(const GuardedArray&) = delete;
  GuardedArray& operator=(const GuardedArray&) = delete;

  const float* data() const { return data_; }

 private:
  size_t page_ = 0;
  size_t size_ = 0;
  char* base_ = nullptr;
  float* data_ = nullptr;
};

std::vector<size_t> GuardLengths() {
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 80; ++n) lengths.push_back(n);
  for (size_t n : {95u, 96u, 97u, 127u, 128u, 129u, 255u, 767u, 768u, 769u, 1023u,
                   1024u, 1025u, 1100u, 1535u, 1536u, 1537u, 4095u, 16000u}) {
    lengths.push_back(n);
  }
  return lengths;
}

void CheckGuarded(bool at_end) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u11(-1.0f, 1.0f);
  for (const KernelTable& k : AllRunnableTargets()) {
    SCOPED_TRACE(k.target);
    for (size_t n : GuardLengths()) {
      std::vector<float> va(n), vb(n);
      for (size_t i = 0; i < n; ++i) {
        va[i] = u11(rng);
        vb[i] = u11(rng);
      }
      GuardedArray ga(va.data(), n, at_end), gb(vb.data(), n, at_end);
      ASSERT_NE(ga.data(), nullptr);
      ASSERT_NE(gb.data(), nullptr);
      const float* a = ga.data();
      const float* b = gb.data();
      const Ctx c{MinAccumulatorLanes(k), 0, 0, at_end ? "guard_after" : "guard_before"};
      const double l2 = ref::SquaredL2(a, b, n);
      ExpectClose(k.squared_l2(a, b, n), l2, l2, n, "squared_l2", c);
      ExpectClose(k.inner_product(a, b, n), ref::InnerProduct(a, b, n),
                  SumAbsProducts(a, b, n), n, "inner_product", c);
      ExpectClose(k.neg_inner_product(a, b, n), -ref::InnerProduct(a, b, n),
                  SumAbsProducts(a, b, n), n, "neg_inner_product", c);
      const double l1 = ref::L1(a, b, n);
      ExpectClose(k.l1(a, b, n), l1, l1, n, "l1", c);
      const DotNorms dn = k.dot_norms(a, b, n);
      const ref::DotNormsResult want = ref::DotNorms(a, b, n);
      ExpectClose(dn.dot, want.dot, SumAbsProducts(a, b, n), n, "dot", c);
      ExpectClose(dn.norm_a, want.norm_a, want.norm_a, n, "norm_a", c);
      ExpectClose(dn.norm_b, want.norm_b, want.norm_b, n, "norm_b", c);
      // The same guarded array as both inputs.
      EXPECT_EQ(k.squared_l2(a, a, n), 0.0f);
    }
  }
}

TEST(KernelGuardPage, NoReadPastTheEnd) { CheckGuarded(/*at_end=*/true); }

TEST(KernelGuardPage, NoReadBeforeTheStart) { CheckGuarded(/*at_end=*/false); }

}  // namespace
}  // namespace vecann::kernels
