// Basic types of the Postgres-free HNSW core: status codes, search candidates,
// build parameters and the per-level link capacity. Shared by the in-memory
// build (src/core) and the on-disk index code in the Postgres glue.
#ifndef VECANN_CORE_HNSW_TYPES_H_
#define VECANN_CORE_HNSW_TYPES_H_

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace vecann::core {

// Result of a core operation. The core never lets an exception escape; every
// failure is reported through one of these.
enum class Status {
  kOk,
  kCancelled,        // the caller's poll callback asked to stop
  kOutOfMemory,      // an allocation failed (or a size would overflow)
  kInvalidArgument,  // bad parameters (null pointers, m < 2, dim == 0, ...)
};

// Human-readable name of a status, for error messages.
inline const char* StatusName(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kCancelled:
      return "cancelled";
    case Status::kOutOfMemory:
      return "out of memory";
    case Status::kInvalidArgument:
      return "invalid argument";
  }
  return "unknown";
}

// A node seen during a search: its distance to the query ("smaller is closer")
// and an id whose meaning is the caller's (an array row in the in-memory build,
// anything the glue likes on disk).
struct Candidate {
  float distance;
  uint32_t id;
};
static_assert(std::is_trivially_copyable_v<Candidate>, "Candidate must stay POD");
static_assert(std::is_trivially_destructible_v<Candidate>, "Candidate must stay POD");

// Strict weak order on candidates: by distance, ties broken by id so results do
// not depend on the order in which equal-distance nodes were met. Usable with
// std::sort / std::push_heap on raw arrays (no allocation): a std::push_heap
// with CandidateLess gives a max-heap (farthest on top), with CandidateGreater a
// min-heap (closest on top).
struct CandidateLess {
  bool operator()(const Candidate& a, const Candidate& b) const noexcept {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
  }
};
struct CandidateGreater {
  bool operator()(const Candidate& a, const Candidate& b) const noexcept {
    return CandidateLess()(b, a);
  }
};

// Id that names no node (for "no entry point" etc.).
inline constexpr uint32_t kInvalidId = 0xFFFFFFFFu;

// Highest level a node may get. Levels are capped here so that they fit in a
// byte and so that the on-disk format can size per-level arrays; with m >= 2
// the chance of a node reaching this level is <= 2^-16, so the cap is harmless.
inline constexpr int kMaxLevel = 16;

// Valid range of m accepted by the core.
inline constexpr int kMinM = 2;
inline constexpr int kMaxM = 1000;

// Index build parameters (same meaning and defaults as pgvector's).
struct HnswParams {
  int m = 16;                // links per node above level 0 (2*m at level 0)
  int ef_construction = 64;  // candidate list size while building
};

// Capacity of a node's neighbour list at a level: 2*m at level 0, m above.
inline int MaxLinks(int m, int level) { return level == 0 ? 2 * m : m; }

// The level-generation multiplier mL = 1/ln(m) of Malkov & Yashunin.
inline double LevelMultiplier(int m) { return 1.0 / std::log(static_cast<double>(m)); }

}  // namespace vecann::core

#endif  // VECANN_CORE_HNSW_TYPES_H_
