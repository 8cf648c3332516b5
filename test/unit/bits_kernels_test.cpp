// Unit tests for the bit-string kernels (src/kernels/bits.h): Hamming and
// AND/OR popcounts of every runnable Highway target against a bit-by-bit
// reference for all lengths 0..700 bytes at unaligned addresses, guard-page
// checks, the Jaccard convention, and binary quantization of floats and
// halves.
#include "kernels/bits.h"

#include <sys/mman.h>
#include <unistd.h>

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

static void PrintTo(const BitKernelTable& t, std::ostream* os) { *os << t.target; }

namespace {

namespace ref = reference;

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed, int density_percent) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pct(0, 99);
  std::vector<uint8_t> out(n);
  for (auto& byte : out) {
    unsigned v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 1) | (pct(rng) < density_percent ? 1u : 0u);
    byte = static_cast<uint8_t>(v);
  }
  return out;
}

void CheckCounts(const BitKernelTable& k, const uint8_t* a, const uint8_t* b, size_t n, const std::string& where) {
  ASSERT_EQ(k.hamming(a, b, n), ref::Hamming(a, b, n)) << where << " n=" << n;
  const AndOrCounts c = k.and_or(a, b, n);
  ASSERT_EQ(c.and_count, ref::AndCount(a, b, n)) << where << " n=" << n;
  ASSERT_EQ(c.or_count, ref::OrCount(a, b, n)) << where << " n=" << n;
}

class BitKernelTest : public ::testing::TestWithParam<BitKernelTable> {};

TEST_P(BitKernelTest, MatchesReferenceForAllLengthsAndOffsets) {
  const BitKernelTable& k = GetParam();
  for (int density : {50, 3, 97}) {
    const std::vector<uint8_t> a = RandomBytes(704, 1u + static_cast<uint32_t>(density), density);
    const std::vector<uint8_t> b = RandomBytes(704, 2u + static_cast<uint32_t>(density), density);
    for (size_t n = 0; n <= 700; ++n) {
      for (size_t oa : {0u, 1u, 3u}) {
        CheckCounts(k, a.data() + oa, b.data() + (oa + 2) % 4, n,
                    "density=" + std::to_string(density) + " offset=" + std::to_string(oa));
      }
    }
  }
}

// All ones over long strings: the byte counters must be widened before they
// wrap (every byte counts 8).
TEST_P(BitKernelTest, AllOnesNeverWrapTheByteCounters) {
  const BitKernelTable& k = GetParam();
  const size_t n = 64000 / 8;  // bit(64000)
  std::vector<uint8_t> ones(n, 0xff), zeros(n, 0);
  EXPECT_EQ(k.hamming(ones.data(), zeros.data(), n), 64000u);
  EXPECT_EQ(k.hamming(ones.data(), ones.data(), n), 0u);
  const AndOrCounts c = k.and_or(ones.data(), ones.data(), n);
  EXPECT_EQ(c.and_count, 64000u);
  EXPECT_EQ(c.or_count, 64000u);
  for (size_t len : {31u * 64u, 31u * 64u + 1u, 62u * 16u, 4096u, 4097u}) {
    EXPECT_EQ(k.hamming(ones.data(), zeros.data(), len), 8 * len) << len;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTargets, BitKernelTest, ::testing::ValuesIn(AllRunnableBitTargets()),
                         [](const ::testing::TestParamInfo<BitKernelTable>& info) {
                           return std::string(info.param.target);
                         });

TEST(BitKernelDispatch, BestIsFirstRunnableAndFallbackLast) {
  const std::vector<BitKernelTable> all = AllRunnableBitTargets();
  ASSERT_FALSE(all.empty());
  EXPECT_STREQ(BitKernels().target, all.front().target);
  EXPECT_EQ(BitKernels().hamming, all.front().hamming);
  const std::string last = all.back().target;
  EXPECT_TRUE(last == "EMU128" || last == "SCALAR") << last;
}

TEST(Jaccard, DistanceFromCounts) {
  EXPECT_EQ(JaccardDistance({0, 0}), 1.0);  // two empty sets
  EXPECT_EQ(JaccardDistance({0, 5}), 1.0);  // disjoint
  EXPECT_EQ(JaccardDistance({5, 5}), 0.0);
  EXPECT_DOUBLE_EQ(JaccardDistance({1, 3}), 2.0 / 3.0);
}

// ---- guard pages -----------------------------------------------------------------

void CheckGuarded(bool at_end) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (const BitKernelTable& k : AllRunnableBitTargets()) {
    SCOPED_TRACE(k.target);
    for (size_t n : {1u, 2u, 7u, 15u, 16u, 17u, 31u, 32u, 33u, 63u, 64u, 65u, 127u, 128u, 129u, 192u, 200u, 2000u,
                     2048u, 4095u}) {
      const size_t data_bytes = ((n + page - 1) / page) * page;
      const size_t size = data_bytes + page;
      char* pa = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      char* pb = static_cast<char*>(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      ASSERT_NE(pa, MAP_FAILED);
      ASSERT_NE(pb, MAP_FAILED);
      uint8_t* a;
      uint8_t* b;
      if (at_end) {
        mprotect(pa + data_bytes, page, PROT_NONE);
        mprotect(pb + data_bytes, page, PROT_NONE);
        a = reinterpret_cast<uint8_t*>(pa + data_bytes - n);
        b = reinterpret_cast<uint8_t*>(pb + data_bytes - n);
      } else {
        mprotect(pa, page, PROT_NONE);
        mprotect(pb, page, PROT_NONE);
        a = reinterpret_cast<uint8_t*>(pa + page);
        b = reinterpret_cast<uint8_t*>(pb + page);
      }
      const std::vector<uint8_t> va = RandomBytes(n, 9, 50), vb = RandomBytes(n, 10, 50);
      std::memcpy(a, va.data(), n);
      std::memcpy(b, vb.data(), n);
      CheckCounts(k, a, b, n, at_end ? "guard_after" : "guard_before");
      munmap(pa, size);
      munmap(pb, size);
    }
  }
}

TEST(BitKernelGuardPage, NoReadPastTheEnd) { CheckGuarded(true); }
TEST(BitKernelGuardPage, NoReadBeforeTheStart) { CheckGuarded(false); }

// ---- binary quantization ---------------------------------------------------------

TEST(BinaryQuantize, FloatsMostSignificantBitFirst) {
  const float x[] = {1.0f, -2.0f, 0.0f, 3.0f, -0.0f, 1e-30f, -1e-30f, 5.0f, 7.0f, -1.0f};
  uint8_t out[2] = {0xaa, 0xaa};
  BinaryQuantize(x, 10, out);
  EXPECT_EQ(out[0], 0b10010101);
  EXPECT_EQ(out[1], 0b10000000);  // padding bits zero
  BinaryQuantize(x, 1, out);
  EXPECT_EQ(out[0], 0b10000000);
}

TEST(BinaryQuantize, HalvesAgreeWithFloats) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (size_t n : {1u, 7u, 8u, 9u, 63u, 64u, 65u, 1536u, 1537u}) {
    std::vector<float> f(n);
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) {
      f[i] = (i % 11 == 0) ? ((i % 2) ? -0.0f : 0.0f) : u(rng);
      h[i] = FloatToHalf(f[i]);
      f[i] = HalfToFloat(h[i]);  // the same values in both
    }
    std::vector<uint8_t> qf(BitBytes(n)), qh(BitBytes(n));
    BinaryQuantize(f.data(), n, qf.data());
    BinaryQuantizeHalf(h.data(), n, qh.data());
    EXPECT_EQ(qf, qh) << n;
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(ref::BitAt(qf.data(), i), f[i] > 0.0f) << i;
    if (n % 8) {
      EXPECT_EQ(qf.back() & ((1u << (8 - n % 8)) - 1u), 0u) << "padding bits must be zero";
    }
  }
  const uint16_t subnormal_pos = 0x0001, subnormal_neg = 0x8001;
  uint8_t out = 0;
  BinaryQuantizeHalf(&subnormal_pos, 1, &out);
  EXPECT_EQ(out, 0x80);
  BinaryQuantizeHalf(&subnormal_neg, 1, &out);
  EXPECT_EQ(out, 0x00);
}

}  // namespace
}  // namespace vecann::kernels
