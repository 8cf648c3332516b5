// Memory accounting and reset of the in-memory HNSW graph (hnsw_graph.h). The
// graph is filled by hnsw_build.cpp.
#include "core/hnsw_graph.h"

#include <cmath>
#include <cstdint>
#include <utility>

namespace vecann::core {

size_t HnswGraph::MemoryBytes() const {
  return levels_.capacity() * sizeof(uint8_t) + level0_.capacity() * sizeof(uint32_t) +
         upper_offset_.capacity() * sizeof(uint32_t) + upper_.capacity() * sizeof(uint32_t);
}

size_t HnswGraph::EstimateBytes(size_t n, size_t row_words, int m, int threads) {
  if (m < kMinM) m = kMinM;
  if (threads < 1) threads = 1;
  // Computed in long double so absurd inputs saturate instead of wrapping.
  const long double nn = static_cast<long double>(n);
  const long double mm = static_cast<long double>(m);
  long double bytes = 0;
  bytes += nn * static_cast<long double>(row_words) * sizeof(float);  // caller's rows
  bytes += nn * sizeof(uint8_t);                                // levels
  bytes += nn * (1 + 2 * mm) * sizeof(uint32_t);                // level-0 lists
  bytes += nn * sizeof(uint32_t);                               // upper offsets
  // Upper blocks: a node's level is geometric with P(level >= l) = m^-l, so the
  // number of blocks has mean n/(m-1) and variance n*m/(m-1)^2; take the mean
  // plus six standard deviations plus one full-height node.
  const long double blocks = nn / (mm - 1) + 6 * std::sqrt(nn * mm) / (mm - 1) + kMaxLevel;
  bytes += blocks * (1 + mm) * sizeof(uint32_t);
  // Build-time slot meta (a float distance and a flag per link slot).
  bytes += (nn * 2 * mm + blocks * mm) * (sizeof(float) + sizeof(uint8_t));
  // Build-time state: a one-byte lock per node, and per thread a visited set of
  // four bytes per node plus search scratch (bounded by 1 MiB for sane
  // ef_construction), plus a fixed allowance for thread stacks' touched pages
  // and allocator overhead.
  bytes += nn * sizeof(uint8_t);
  bytes += static_cast<long double>(threads) * (nn * sizeof(uint32_t) + (1 << 20));
  bytes += 4 << 20;
  const long double limit = static_cast<long double>(SIZE_MAX);
  if (!(bytes < limit)) return SIZE_MAX;
  return static_cast<size_t>(std::ceil(bytes));
}

void HnswGraph::Clear() {
  m_ = 0;
  entry_point_ = kInvalidId;
  max_level_ = -1;
  std::vector<uint8_t>().swap(levels_);
  std::vector<uint32_t>().swap(level0_);
  std::vector<uint32_t>().swap(upper_offset_);
  std::vector<uint32_t>().swap(upper_);
}

void HnswGraph::Swap(HnswGraph& other) noexcept {
  std::swap(m_, other.m_);
  std::swap(entry_point_, other.entry_point_);
  std::swap(max_level_, other.max_level_);
  levels_.swap(other.levels_);
  level0_.swap(other.level0_);
  upper_offset_.swap(other.upper_offset_);
  upper_.swap(other.upper_);
}

}  // namespace vecann::core
