// Unit tests for the halfvec and sparsevec codecs (src/codec/halfvec.h,
// src/codec/sparsevec.h): parsing with every error and its position,
// formatting, exact round trips, and the binary wire formats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codec/halfvec.h"
#include "codec/sparsevec.h"
#include "codec/vector_limits.h"
#include "kernels/half_convert.h"

namespace vecann::codec {
namespace {

using kernels::FloatToHalf;
using kernels::HalfToFloat;

// ---- halfvec text ------------------------------------------------------------------

std::vector<float> HalfParseOk(const char* text) {
  std::vector<uint16_t> out(kMaxDims);
  TextParseResult r = ParseHalfvecText(text, out.data(), kMaxDims);
  EXPECT_EQ(r.error, TextError::kOk) << text;
  std::vector<float> values;
  if (r.error == TextError::kOk) {
    for (int i = 0; i < r.dims; ++i) values.push_back(HalfToFloat(out[i]));
  }
  return values;
}

TextParseResult HalfParse(const char* text) {
  std::vector<uint16_t> out(kMaxDims);
  return ParseHalfvecText(text, out.data(), kMaxDims);
}

std::string HalfFormat(const std::vector<uint16_t>& v) {
  std::string s(FormattedHalfvecMaxBytes(static_cast<int>(v.size())), '\0');
  s.resize(FormatHalfvecText(v.data(), static_cast<int>(v.size()), s.data()));
  return s;
}

TEST(HalfvecText, ParsesAndRoundsToHalves) {
  EXPECT_EQ(HalfParseOk("[1,2.5,-3]"), (std::vector<float>{1, 2.5f, -3}));
  EXPECT_EQ(HalfParseOk(" [ 65504 , -65504 ] "), (std::vector<float>{65504, -65504}));
  EXPECT_EQ(HalfParseOk("[2049,65519,1e-8]"), (std::vector<float>{2048, 65504, 0}));
  EXPECT_EQ(HalfParseOk("[1.1]")[0], HalfToFloat(0x3c66));
}

TEST(HalfvecText, Errors) {
  auto r = HalfParse("[1,70000]");
  EXPECT_EQ(r.error, TextError::kOutOfRange);
  EXPECT_EQ(r.position, 3u);
  EXPECT_EQ(HalfParse("[65520]").error, TextError::kOutOfRange);
  EXPECT_EQ(HalfParse("[-1e39]").error, TextError::kOutOfRange);
  EXPECT_EQ(HalfParse("[nan]").error, TextError::kNaN);
  EXPECT_EQ(HalfParse("[-Infinity]").error, TextError::kInfinite);
  EXPECT_EQ(HalfParse("[]").error, TextError::kEmpty);
  r = HalfParse("[1,,2]");
  EXPECT_EQ(r.error, TextError::kMalformed);
  EXPECT_EQ(r.position, 3u);
  std::vector<uint16_t> two(2);
  EXPECT_EQ(ParseHalfvecText("[1,2,3]", two.data(), 2).error, TextError::kTooManyDims);
}

TEST(HalfvecText, EveryFiniteHalfRoundTrips) {
  std::vector<uint16_t> all;
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    if (kernels::HalfIsFinite(static_cast<uint16_t>(h))) all.push_back(static_cast<uint16_t>(h));
  }
  for (size_t start = 0; start < all.size(); start += kMaxDims) {
    const size_t n = std::min(all.size() - start, static_cast<size_t>(kMaxDims));
    std::vector<uint16_t> chunk(all.begin() + start, all.begin() + start + n);
    const std::string text = HalfFormat(chunk);
    std::vector<uint16_t> back(kMaxDims);
    TextParseResult r = ParseHalfvecText(text.c_str(), back.data(), kMaxDims);
    ASSERT_EQ(r.error, TextError::kOk);
    ASSERT_EQ(r.dims, static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(back[i], chunk[i]) << std::hex << chunk[i];
  }
  EXPECT_EQ(HalfFormat({FloatToHalf(1), FloatToHalf(-0.5f), 0x8000}), "[1,-0.5,-0]");
}

// ---- halfvec binary -------------------------------------------------------------------

TEST(HalfvecBinary, RoundTripsAndRejectsBadMessages) {
  const std::vector<uint16_t> v{FloatToHalf(1), FloatToHalf(-2), 0x7bff};
  std::vector<uint8_t> buf(BinaryHalfvecBytes(3));
  WriteHalfvecBinary(v.data(), 3, buf.data());
  EXPECT_EQ(buf, (std::vector<uint8_t>{0, 3, 0, 0, 0x3c, 0x00, 0xc0, 0x00, 0x7b, 0xff}));
  std::vector<uint16_t> out(kMaxDims);
  BinaryParseResult r = ParseHalfvecBinary(buf.data(), buf.size(), out.data(), kMaxDims);
  ASSERT_EQ(r.error, BinaryError::kOk);
  ASSERT_EQ(r.dims, 3);
  EXPECT_EQ(std::vector<uint16_t>(out.begin(), out.begin() + 3), v);

  EXPECT_EQ(ParseHalfvecBinary(buf.data(), 3, out.data(), kMaxDims).error, BinaryError::kTruncated);
  EXPECT_EQ(ParseHalfvecBinary(buf.data(), buf.size() - 1, out.data(), kMaxDims).error,
            BinaryError::kLengthMismatch);
  EXPECT_EQ(ParseHalfvecBinary(buf.data(), buf.size(), out.data(), 2).error, BinaryError::kBadDims);
  auto unused = buf;
  unused[2] = 1;
  EXPECT_EQ(ParseHalfvecBinary(unused.data(), unused.size(), out.data(), kMaxDims).error, BinaryError::kBadUnused);
  auto zero = buf;
  zero[1] = 0;
  EXPECT_EQ(ParseHalfvecBinary(zero.data(), 4, out.data(), kMaxDims).error, BinaryError::kBadDims);
  auto inf = buf;
  inf[6] = 0x7c;
  inf[7] = 0x00;
  r = ParseHalfvecBinary(inf.data(), inf.size(), out.data(), kMaxDims);
  EXPECT_EQ(r.error, BinaryError::kInfinite);
  EXPECT_EQ(r.index, 1);
  auto nan = inf;
  nan[7] = 0x01;  // exponent all ones, mantissa not zero
  r = ParseHalfvecBinary(nan.data(), nan.size(), out.data(), kMaxDims);
  EXPECT_EQ(r.error, BinaryError::kNaN);
  EXPECT_EQ(r.index, 1);
}

// ---- sparsevec text -----------------------------------------------------------------

struct SparseOut {
  SparseParseResult r;
  std::vector<int32_t> indices;
  std::vector<float> values;
};

SparseOut SparseParse(const char* text, int capacity = kMaxSparseNonZero) {
  SparseOut o;
  o.indices.resize(capacity);
  o.values.resize(capacity);
  o.r = ParseSparsevecText(text, o.indices.data(), o.values.data(), capacity);
  o.indices.resize(o.r.error == SparseError::kOk ? o.r.nnz : 0);
  o.values.resize(o.indices.size());
  return o;
}

std::string SparseFormat(const SparseOut& o) {
  std::string s(FormattedSparsevecMaxBytes(o.r.nnz), '\0');
  s.resize(FormatSparsevecText(o.indices.data(), o.values.data(), o.r.nnz, o.r.dims, s.data()));
  return s;
}

TEST(SparsevecText, ParsesAndFormats) {
  SparseOut o = SparseParse("{1:0.5,7:2}/10");
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(o.r.dims, 10);
  EXPECT_EQ(o.indices, (std::vector<int32_t>{0, 6}));
  EXPECT_EQ(o.values, (std::vector<float>{0.5f, 2.0f}));
  EXPECT_EQ(SparseFormat(o), "{1:0.5,7:2}/10");

  o = SparseParse("  { 1 : 1.5 , 3 : -3.5 } / 5  ");
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(SparseFormat(o), "{1:1.5,3:-3.5}/5");
  o = SparseParse("{}/3");
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(o.r.nnz, 0);
  EXPECT_EQ(SparseFormat(o), "{}/3");
  o = SparseParse("{1:0,2:-0,3:1e-50,4:2}/4");  // zeros dropped
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(SparseFormat(o), "{4:2}/4");
  o = SparseParse("{+2:1}/+3");
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(SparseFormat(o), "{2:1}/3");
  o = SparseParse("{1000000000:1}/1000000000");
  ASSERT_EQ(o.r.error, SparseError::kOk);
  EXPECT_EQ(o.indices[0], 999999999);
}

TEST(SparsevecText, ErrorsAndPositions) {
  struct Case {
    const char* text;
    SparseError error;
    size_t position;
  };
  const Case cases[] = {
      {"", SparseError::kMalformed, 0},
      {"[1,2]", SparseError::kMalformed, 0},
      {"{1:1,,2:1}/3", SparseError::kMalformed, 5},
      {"{1:1}", SparseError::kMalformed, 5},
      {"{1:1}/", SparseError::kMalformed, 6},
      {"{1:1}/3x", SparseError::kMalformed, 7},
      {"{1:1/3", SparseError::kMalformed, 4},
      {"{1 1}/3", SparseError::kMalformed, 3},
      {"{1:}/3", SparseError::kMalformed, 3},
      {"{:1}/3", SparseError::kMalformed, 1},
      {"{1.5:1}/3", SparseError::kMalformed, 2},
      {"{1:1x}/3", SparseError::kMalformed, 4},
      {"{0:1}/3", SparseError::kIndexOutOfRange, 1},
      {"{-1:1}/3", SparseError::kIndexOutOfRange, 1},
      {"{4:0}/3", SparseError::kIndexOutOfRange, 1},
      {"{1:1,3:1}/2", SparseError::kIndexOutOfRange, 5},
      {"{5:1,3:1}/4", SparseError::kIndexOutOfRange, 1},
      {"{99999999999999999999:1}/3", SparseError::kIndexOutOfRange, 1},
      {"{2:1,1:1}/3", SparseError::kUnsorted, 5},
      {"{2:1,2:3}/3", SparseError::kDuplicate, 5},
      {"{2:0,2:3}/3", SparseError::kDuplicate, 5},
      {"{1:1}/0", SparseError::kBadDims, 6},
      {"{1:1}/-5", SparseError::kBadDims, 6},
      {"{1:1}/1000000001", SparseError::kBadDims, 6},
      {"{1:NaN}/3", SparseError::kNaN, 3},
      {"{1:-inf}/3", SparseError::kInfinite, 3},
      {"{1:1e39}/3", SparseError::kOutOfRange, 3},
  };
  for (const Case& c : cases) {
    const SparseOut o = SparseParse(c.text);
    EXPECT_EQ(o.r.error, c.error) << c.text;
    EXPECT_EQ(o.r.position, c.position) << c.text;
  }
  EXPECT_EQ(SparseParse("{2:1,1:1}/3").r.index, 1);
  EXPECT_EQ(SparseParse("{1:1}/0").r.dims, 0);
  // Bad dims are reported after the elements they follow.
  EXPECT_EQ(SparseParse("{2:1,1:1}/0").r.error, SparseError::kUnsorted);
}

TEST(SparsevecText, NonZeroCapacity) {
  EXPECT_EQ(SparseParse("{1:1,2:1,3:1}/5", 2).r.error, SparseError::kTooManyNonZero);
  EXPECT_EQ(SparseParse("{1:1,2:0,3:1}/5", 2).r.error, SparseError::kOk);
}

TEST(SparsevecText, RandomRoundTrips) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 200; ++iter) {
    const int dims = 1 + static_cast<int>(rng() % 5000);
    std::vector<int32_t> indices;
    std::vector<float> values;
    for (int i = 0; i < dims; ++i) {
      if (rng() % 10 != 0) continue;
      uint32_t bits = rng();
      float f;
      std::memcpy(&f, &bits, sizeof f);
      if (!std::isfinite(f) || f == 0.0f) continue;
      indices.push_back(i);
      values.push_back(f);
    }
    const int nnz = static_cast<int>(indices.size());
    std::string text(FormattedSparsevecMaxBytes(nnz), '\0');
    text.resize(FormatSparsevecText(indices.data(), values.data(), nnz, dims, text.data()));
    const SparseOut o = SparseParse(text.c_str());
    ASSERT_EQ(o.r.error, SparseError::kOk) << text;
    ASSERT_EQ(o.r.dims, dims);
    EXPECT_EQ(o.indices, indices);
    ASSERT_EQ(o.values.size(), values.size());
    EXPECT_EQ(std::memcmp(o.values.data(), values.data(), values.size() * sizeof(float)), 0);

    std::vector<uint8_t> bin(BinarySparsevecBytes(nnz));
    WriteSparsevecBinary(indices.data(), values.data(), nnz, dims, bin.data());
    std::vector<int32_t> bi(kMaxSparseNonZero);
    std::vector<float> bv(kMaxSparseNonZero);
    SparseParseResult r = ParseSparsevecBinary(bin.data(), bin.size(), bi.data(), bv.data(), kMaxSparseNonZero);
    ASSERT_EQ(r.error, SparseError::kOk);
    ASSERT_EQ(r.nnz, nnz);
    EXPECT_EQ(std::vector<int32_t>(bi.begin(), bi.begin() + nnz), indices);
  }
  // The buffer bound holds at the worst case: 10-digit indices, 15-character values.
  std::vector<int32_t> indices(kMaxSparseNonZero);
  std::vector<float> values(kMaxSparseNonZero, -1.17549435e-38f);
  for (int i = 0; i < kMaxSparseNonZero; ++i) indices[i] = kMaxSparseDims - kMaxSparseNonZero + i;
  std::string s(FormattedSparsevecMaxBytes(kMaxSparseNonZero), '\0');
  EXPECT_LT(FormatSparsevecText(indices.data(), values.data(), kMaxSparseNonZero, kMaxSparseDims, s.data()),
            s.size());
}

// ---- sparsevec binary ---------------------------------------------------------------

std::vector<uint8_t> SparseMessage(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out;
  for (uint32_t w : words) {
    out.push_back(static_cast<uint8_t>(w >> 24));
    out.push_back(static_cast<uint8_t>(w >> 16));
    out.push_back(static_cast<uint8_t>(w >> 8));
    out.push_back(static_cast<uint8_t>(w));
  }
  return out;
}

SparseParseResult SparseBinary(const std::vector<uint8_t>& m, int capacity = kMaxSparseNonZero) {
  std::vector<int32_t> indices(capacity + 1);
  std::vector<float> values(capacity + 1);
  return ParseSparsevecBinary(m.data(), m.size(), indices.data(), values.data(), capacity);
}

TEST(SparsevecBinary, WireFormatAndErrors) {
  const int32_t indices[] = {1, 4};
  const float values[] = {1.0f, -2.0f};
  std::vector<uint8_t> buf(BinarySparsevecBytes(2));
  WriteSparsevecBinary(indices, values, 2, 6, buf.data());
  EXPECT_EQ(buf, SparseMessage({6, 2, 0, 1, 4, 0x3f800000, 0xc0000000}));
  EXPECT_EQ(SparseBinary(buf).error, SparseError::kOk);

  const uint32_t one = 0x3f800000;
  EXPECT_EQ(SparseBinary(SparseMessage({3, 0})).error, SparseError::kTruncated);
  EXPECT_EQ(SparseBinary(SparseMessage({0, 0, 0})).error, SparseError::kBadDims);
  EXPECT_EQ(SparseBinary(SparseMessage({0x80000000u, 0, 0})).error, SparseError::kBadDims);
  EXPECT_EQ(SparseBinary(SparseMessage({1000000001, 0, 0})).error, SparseError::kBadDims);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 4, 0})).error, SparseError::kBadNonZeroCount);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 0xffffffffu, 0})).error, SparseError::kBadNonZeroCount);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 3, 0}), 2).error, SparseError::kTooManyNonZero);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 0, 7})).error, SparseError::kBadUnused);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 0, 7})).unused, 7);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 0})).error, SparseError::kLengthMismatch);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 0, one, 0})).error, SparseError::kLengthMismatch);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 3, one})).error, SparseError::kIndexOutOfRange);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 0xffffffffu, one})).error, SparseError::kIndexOutOfRange);
  SparseParseResult r = SparseBinary(SparseMessage({3, 2, 0, 1, 1, one, one}));
  EXPECT_EQ(r.error, SparseError::kDuplicate);
  EXPECT_EQ(r.element, 1);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 2, 0, 2, 1, one, one})).error, SparseError::kUnsorted);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 1, 0})).error, SparseError::kZeroValue);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 1, 0x80000000u})).error, SparseError::kZeroValue);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 1, 0x7fc00000u})).error, SparseError::kNaN);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 1, 0, 1, 0xff800000u})).error, SparseError::kInfinite);
  EXPECT_EQ(SparseBinary(SparseMessage({3, 0, 0})).error, SparseError::kOk);
}

}  // namespace
}  // namespace vecann::codec
