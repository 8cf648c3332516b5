// Test helpers over the core: a build over plain float32 rows, and the k
// nearest neighbours of a query in a built graph, found by the shared layer
// search (core/layer_search.h) exactly as the index searches: descent with a
// beam through the upper levels, then one batch of max(ef, k) at level 0.
#ifndef VECANN_TEST_UNIT_GRAPH_SEARCH_H_
#define VECANN_TEST_UNIT_GRAPH_SEARCH_H_

#include <algorithm>
#include <vector>

#include "core/hnsw_build.h"
#include "core/layer_search.h"
#include "core/memory_graph.h"

namespace vecann::core {

inline Status BuildGraph(const float* vectors, size_t n, size_t dim, kernels::DistanceFn dist,
                         const BuildOptions& opts, HnswGraph* out) {
  return BuildGraph(vectors, n, RowFormat{dim, dim, dist, nullptr}, opts, out);
}

// *out gets up to k candidates (id = row), nearest first.
inline Status SearchGraph(const HnswGraph& graph, const float* rows, const RowFormat& format,
                          const float* query, size_t k, size_t ef, std::vector<Candidate>* out) {
  if (out == nullptr) return Status::kInvalidArgument;
  out->clear();
  if (graph.size() == 0 || k == 0) return Status::kOk;
  if (rows == nullptr || format.dim == 0 || format.row_words == 0 || format.dist == nullptr ||
      query == nullptr) {
    return Status::kInvalidArgument;
  }
  ef = std::max(ef, k);
  MemorySearch ms(&graph, Rows{rows, format.row_words, format.dim, format.dist}, NodeLocks{}, false);
  ms.graph().SetQuery(query, kInvalidId);
  uint32_t entries[kDescentBeam] = {graph.entry_point()};
  ms.search().Start(graph.max_level(), entries, 1);
  const size_t n = Descend(&ms.search(), &ms.graph(), graph.max_level(), 0, entries, 1);
  ms.search().Start(0, entries, n);
  out->resize(ef);
  out->resize(std::min(k, ms.search().Batch(ef, out->data())));
  return Status::kOk;
}

inline Status SearchGraph(const HnswGraph& graph, const float* vectors, size_t dim, kernels::DistanceFn dist,
                          const float* query, size_t k, size_t ef, std::vector<Candidate>* out) {
  return SearchGraph(graph, vectors, RowFormat{dim, dim, dist, nullptr}, query, k, ef, out);
}

}  // namespace vecann::core

#endif  // VECANN_TEST_UNIT_GRAPH_SEARCH_H_
