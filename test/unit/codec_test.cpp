// Unit tests for the vector text and binary codecs (src/codec).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codec/vector_binary.h"
#include "codec/vector_limits.h"
#include "codec/vector_text.h"

namespace vecann::codec {
namespace {

std::vector<float> ParseOk(const char* text) {
  std::vector<float> out(kMaxDims);
  TextParseResult r = ParseVectorText(text, out.data(), kMaxDims);
  EXPECT_EQ(r.error, TextError::kOk) << text;
  out.resize(r.error == TextError::kOk ? r.dims : 0);
  return out;
}

TextParseResult ParseErr(const char* text) {
  std::vector<float> out(kMaxDims);
  return ParseVectorText(text, out.data(), kMaxDims);
}

std::string Format(const std::vector<float>& v) {
  std::string s(FormattedVectorMaxBytes(static_cast<int>(v.size())), '\0');
  s.resize(FormatVectorText(v.data(), static_cast<int>(v.size()), s.data()));
  return s;
}

TEST(VectorText, ParsesPlainAndSpacedLiterals) {
  EXPECT_EQ(ParseOk("[1,2.5,-3]"), (std::vector<float>{1, 2.5f, -3}));
  EXPECT_EQ(ParseOk("  [ 1 , 2.5 ,\t-3 ]\n"), (std::vector<float>{1, 2.5f, -3}));
  EXPECT_EQ(ParseOk("[+1e2,1E-1,.5,5.]"), (std::vector<float>{100, 0.1f, 0.5f, 5}));
}

TEST(VectorText, ReportsPositionOfMalformedInput) {
  auto r = ParseErr("[1,,2]");
  EXPECT_EQ(r.error, TextError::kMalformed);
  EXPECT_EQ(r.position, 3u);
  EXPECT_EQ(ParseErr("1,2]").error, TextError::kMalformed);
  EXPECT_EQ(ParseErr("[1,2").error, TextError::kMalformed);
  EXPECT_EQ(ParseErr("[1,2]x").position, 5u);
  EXPECT_EQ(ParseErr("[1 2]").error, TextError::kMalformed);
  EXPECT_EQ(ParseErr("[1,abc]").position, 3u);
  EXPECT_EQ(ParseErr("[1.2.3]").error, TextError::kMalformed);
  EXPECT_EQ(ParseErr("").error, TextError::kMalformed);
  EXPECT_EQ(ParseErr("[0x10]").error, TextError::kMalformed);
}

TEST(VectorText, RejectsEmptyNonFiniteAndOverflow) {
  EXPECT_EQ(ParseErr("[]").error, TextError::kEmpty);
  EXPECT_EQ(ParseErr("[ ]").error, TextError::kEmpty);
  EXPECT_EQ(ParseErr("[1,NaN]").error, TextError::kNaN);
  EXPECT_EQ(ParseErr("[-inf]").error, TextError::kInfinite);
  EXPECT_EQ(ParseErr("[Infinity]").error, TextError::kInfinite);
  auto r = ParseErr("[1,1e39]");
  EXPECT_EQ(r.error, TextError::kOutOfRange);
  EXPECT_EQ(r.position, 3u);
  EXPECT_EQ(ParseErr("[-1e400]").error, TextError::kOutOfRange);
}

TEST(VectorText, UnderflowRoundsToZero) {
  auto v = ParseOk("[1e-50,-1e-400]");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], 0.0f);
  EXPECT_EQ(v[1], 0.0f);
  EXPECT_TRUE(std::signbit(v[1]));
}

TEST(VectorText, EnforcesCapacity) {
  std::vector<float> out(2);
  EXPECT_EQ(ParseVectorText("[1,2,3]", out.data(), 2).error, TextError::kTooManyDims);
  EXPECT_EQ(ParseVectorText("[1,2]", out.data(), 2).error, TextError::kOk);
}

TEST(VectorText, FormatsShortestAndRoundTripsEveryFloat) {
  EXPECT_EQ(Format({1, 2.5f, -3}), "[1,2.5,-3]");
  EXPECT_EQ(Format({0.1f}), "[0.1]");
  std::mt19937 rng(7);
  std::vector<float> v;
  for (int i = 0; i < 20000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isfinite(f)) v.push_back(f);
  }
  v.push_back(std::numeric_limits<float>::max());
  v.push_back(-std::numeric_limits<float>::denorm_min());
  v.push_back(std::numeric_limits<float>::min());
  std::string text = Format(v);
  std::vector<float> back(v.size() + 1);
  TextParseResult r = ParseVectorText(text.c_str(), back.data(), static_cast<int>(back.size()));
  ASSERT_EQ(r.error, TextError::kOk);
  ASSERT_EQ(r.dims, static_cast<int>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(std::memcmp(&v[i], &back[i], sizeof(float)), 0) << i << " " << v[i];
  }
}

TEST(VectorText, FormatBufferBoundHolds) {
  std::vector<float> worst(kMaxDims, -1.17549435e-38f);
  std::string s(FormattedVectorMaxBytes(kMaxDims), '\0');
  EXPECT_LT(FormatVectorText(worst.data(), kMaxDims, s.data()), s.size());
}

TEST(VectorBinary, RoundTrips) {
  std::vector<float> v{1, -2.5f, 3e-7f};
  std::vector<uint8_t> buf(BinaryVectorBytes(3));
  WriteVectorBinary(v.data(), 3, buf.data());
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(buf[1], 3);
  std::vector<float> out(3);
  auto r = ParseVectorBinary(buf.data(), buf.size(), out.data(), 3);
  ASSERT_EQ(r.error, BinaryError::kOk);
  EXPECT_EQ(out, v);
}

TEST(VectorBinary, RejectsBadMessages) {
  std::vector<float> v{1, 2};
  std::vector<uint8_t> buf(BinaryVectorBytes(2));
  WriteVectorBinary(v.data(), 2, buf.data());
  std::vector<float> out(kMaxDims);
  EXPECT_EQ(ParseVectorBinary(buf.data(), 3, out.data(), kMaxDims).error, BinaryError::kTruncated);
  EXPECT_EQ(ParseVectorBinary(buf.data(), buf.size() - 1, out.data(), kMaxDims).error,
            BinaryError::kLengthMismatch);
  EXPECT_EQ(ParseVectorBinary(buf.data(), buf.size(), out.data(), 1).error, BinaryError::kBadDims);
  auto unused = buf;
  unused[3] = 1;
  EXPECT_EQ(ParseVectorBinary(unused.data(), unused.size(), out.data(), kMaxDims).error,
            BinaryError::kBadUnused);
  EXPECT_EQ(ParseVectorBinary(unused.data(), unused.size(), out.data(), kMaxDims).unused, 1);
  auto zero = buf;
  zero[1] = 0;
  EXPECT_EQ(ParseVectorBinary(zero.data(), 4, out.data(), kMaxDims).error, BinaryError::kBadDims);
  auto negative = buf;
  negative[0] = 0xff;
  EXPECT_EQ(ParseVectorBinary(negative.data(), negative.size(), out.data(), kMaxDims).error,
            BinaryError::kBadDims);
  auto nan = buf;
  nan[8] = 0x7f;
  nan[9] = 0xc0;
  auto r = ParseVectorBinary(nan.data(), nan.size(), out.data(), kMaxDims);
  EXPECT_EQ(r.error, BinaryError::kNaN);
  EXPECT_EQ(r.index, 1);
  auto inf = buf;
  inf[8] = 0xff;  // -infinity: 0xff800000
  inf[9] = 0x80;
  inf[10] = inf[11] = 0;
  r = ParseVectorBinary(inf.data(), inf.size(), out.data(), kMaxDims);
  EXPECT_EQ(r.error, BinaryError::kInfinite);
}

}  // namespace
}  // namespace vecann::codec
