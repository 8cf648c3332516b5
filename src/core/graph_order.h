// The order in which a built graph's nodes are written to index pages:
// breadth-first over the level-0 lists from the entry point, so that the
// neighbours of a node tend to land next to each other, often on one page.
// A search then reads several of the neighbours it visits under one buffer
// pin and lock, and touches fewer pages. Header-only, Postgres-free,
// allocation-free (the caller provides the arrays).
#ifndef VECANN_CORE_GRAPH_ORDER_H_
#define VECANN_CORE_GRAPH_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/hnsw_graph.h"

namespace vecann::core {

// Writes a permutation of the graph's nodes to order[0 .. graph.size()):
// the entry point first, then breadth-first along level-0 links (nearest
// first, as the lists are kept); nodes no link reaches follow in id order,
// each starting a breadth-first run of its own. `placed` is graph.size()
// bytes of scratch.
inline void LocalityOrder(const HnswGraph& graph, uint32_t* order, uint8_t* placed) {
  const size_t n = graph.size();
  if (n == 0) return;
  std::memset(placed, 0, n);
  size_t tail = 0;
  auto place = [&](uint32_t v) {
    placed[v] = 1;
    order[tail++] = v;
  };
  place(graph.entry_point());
  size_t head = 0;
  uint32_t next_unplaced = 0;
  while (tail < n) {
    if (head == tail) {  // the run ended: start one at the next unplaced node
      while (placed[next_unplaced]) ++next_unplaced;
      place(next_unplaced);
    }
    const uint32_t v = order[head++];
    int count = 0;
    const uint32_t* nb = graph.neighbors(v, 0, &count);
    for (int i = 0; i < count; ++i) {
      if (!placed[nb[i]]) place(nb[i]);
    }
  }
}

}  // namespace vecann::core

#endif  // VECANN_CORE_GRAPH_ORDER_H_
