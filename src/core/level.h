// Random level of a new HNSW node (Malkov & Yashunin: floor(-ln(U) * mL) with
// mL = 1/ln(m)). The caller supplies the uniform draw, so the in-memory build
// (seeded std::mt19937_64) and the glue (Postgres' PRNG) share the formula.
#ifndef VECANN_CORE_LEVEL_H_
#define VECANN_CORE_LEVEL_H_

#include <cmath>

namespace vecann::core {

// Level for a uniform draw u in (0, 1]: min(floor(-ln(u) / ln(m)), max_level).
// u <= 0 (or NaN) is treated as the limit u -> 0 and gives max_level; u >= 1
// gives 0. m < 2 gives level 0 (a one-level graph). Never negative.
inline int DrawLevel(double uniform01_exclusive_zero, int m, int max_level) {
  if (max_level <= 0 || m < 2) return 0;
  const double u = uniform01_exclusive_zero;
  if (!(u > 0.0)) return max_level;
  if (u >= 1.0) return 0;
  const double l = std::floor(-std::log(u) / std::log(static_cast<double>(m)));
  if (!(l < static_cast<double>(max_level))) return max_level;
  return l < 0.0 ? 0 : static_cast<int>(l);
}

// Uniform double in (0, 1] from 64 random bits (53 bits of precision), for
// feeding DrawLevel from a 64-bit generator.
inline double UniformFromBits(unsigned long long bits) {
  return static_cast<double>((bits >> 11) + 1) * (1.0 / 9007199254740992.0);  // 2^-53
}

}  // namespace vecann::core

#endif  // VECANN_CORE_LEVEL_H_
