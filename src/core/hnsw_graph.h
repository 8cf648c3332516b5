// In-memory HNSW graph over caller-owned vectors: per node a level and, per
// level, a fixed-capacity neighbour list (MaxLinks(m, level) slots plus a count).
// Level-0 lists live in one flat array for locality; upper-level lists are
// allocated only for nodes that have them. Filled by BuildGraph (hnsw_build.h);
// the Postgres glue reads it through the const API to write index pages.
#ifndef VECANN_CORE_HNSW_GRAPH_H_
#define VECANN_CORE_HNSW_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/hnsw_types.h"

namespace vecann::core {

namespace internal {
class GraphBuilder;  // hnsw_build.cpp
}

class HnswGraph {
 public:
  HnswGraph() = default;

  // Number of nodes (= rows of the vector array the graph was built over).
  size_t size() const { return levels_.size(); }
  // The m the graph was built with (0 when empty).
  int m() const { return m_; }
  // Level of a node, 0..max_level(). node < size().
  int level(uint32_t node) const { return levels_[node]; }
  // Neighbour ids of `node` at `level` (level <= level(node)); *count gets the
  // number of valid entries, at most MaxLinks(m(), level). The pointer stays
  // valid while the graph lives and is not rebuilt. No self links, no
  // duplicates, and every neighbour has a level >= `level`. Nearest first,
  // except for the few links the build's reachability repair adds.
  const uint32_t* neighbors(uint32_t node, int level, int* count) const {
    const uint32_t* list = List(node, level);
    *count = static_cast<int>(list[0]);
    return list + 1;
  }
  // Where the list of `node` at `level` is stored (a prefetch hint).
  const void* list_address(uint32_t node, int level) const { return List(node, level); }
  // The node where searches start (it has the highest level), or kInvalidId
  // when the graph is empty.
  uint32_t entry_point() const { return entry_point_; }
  // Level of the entry point; -1 when the graph is empty.
  int max_level() const { return max_level_; }

  // Bytes held by this graph (not counting the caller's vectors).
  size_t MemoryBytes() const;

  // An upper estimate of the peak memory BuildGraph uses for n rows of
  // `row_words` 4-byte words (floats, or codes in a reduced form) with
  // parameter m and `threads` build threads, INCLUDING the caller's
  // n*row_words*4 bytes of rows, so the glue can compare it with
  // maintenance_work_mem. Saturates at SIZE_MAX instead of overflowing.
  static size_t EstimateBytes(size_t n, size_t row_words, int m, int threads = 1);

  // Frees everything; the graph becomes empty.
  void Clear();
  // Exchanges contents with another graph (no allocation).
  void Swap(HnswGraph& other) noexcept;

 private:
  friend class internal::GraphBuilder;

  // Words of one list: count + capacity.
  size_t Level0Stride() const { return 1 + 2 * static_cast<size_t>(m_); }
  size_t UpperStride() const { return 1 + static_cast<size_t>(m_); }
  const uint32_t* List(uint32_t node, int level) const {
    if (level == 0) return &level0_[node * Level0Stride()];
    return &upper_[(static_cast<size_t>(upper_offset_[node]) + (level - 1)) * UpperStride()];
  }
  uint32_t* MutableList(uint32_t node, int level) {
    return const_cast<uint32_t*>(static_cast<const HnswGraph*>(this)->List(node, level));
  }

  int m_ = 0;
  uint32_t entry_point_ = kInvalidId;
  int max_level_ = -1;
  std::vector<uint8_t> levels_;         // per node
  std::vector<uint32_t> level0_;        // n * (1 + 2m): [count, ids...] per node
  std::vector<uint32_t> upper_offset_;  // per node: first upper block (level 1) index
  std::vector<uint32_t> upper_;         // blocks of (1 + m) words, level(node) per node
};

}  // namespace vecann::core

#endif  // VECANN_CORE_HNSW_GRAPH_H_
