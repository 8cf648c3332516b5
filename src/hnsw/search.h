// The on-disk graph as the shared layer search's accessor (core/layer_search.h),
// and the search scans, inserts and VACUUM repair run over it.
//
// Visiting a node costs one buffer access: pin, share-lock, compute the
// distance to the query straight from the page, copy the node's heap TID (and
// its vector, for inserts), unlock; the new neighbours of one expansion that
// share a page share that access (the build writes neighbours next to each
// other, core/graph_order.h). Expanding a node (a small fraction of the
// visited ones) reads its neighbour list at the searched level with a second
// access, while its page is still in cache; the pages of the neighbours not
// yet visited are prefetched before they are visited.
// Everything a search finds lives in its memory context (no allocation per
// node beyond bump allocation); every local is trivially destructible, so any
// Postgres call here may ereport safely.
//
// Searches are continuable: a scan asks for batch after batch (past
// ef_search, for a LIMIT or a WHERE that rejects rows).
#ifndef VECANN_HNSW_SEARCH_H_
#define VECANN_HNSW_SEARCH_H_

#include "core/hnsw_types.h"
#include "core/layer_search.h"
#include "hnsw/hnsw.h"
#include "hnsw/tid_set.h"

namespace vecann::hnsw {

// A node found by a search.
struct FoundNode {
  ItemPointerData tid;       // the node tuple
  ItemPointerData heap_tid;  // the row it indexes
  float distance;            // internal distance to the query
  float error;               // its code's reconstruction error (0 for float32)
  float norm;                // its code's norm of the original (0 for float32)
  uint8 level;
  bool deleted;
  bool missing;              // no node at tid (VACUUM removed it): a dead end
  float* vector;             // its vector's code (searches that keep vectors only)
};

// The accessor: reads nodes from pages and keeps what the search found.
struct DiskGraph {
  using Ref = ItemPointerData;

  Relation index;
  IndexFacts* facts;  // the caller's; SearchDescend refreshes a stale entry point
  const float* query;
  bool keep_vectors;
  MemoryContext cxt;

  FoundNode* nodes;  // every node visited, in visit order (candidate id = index)
  uint32 nnodes;
  uint32 nodes_capacity;

  char* arena;  // bump allocation for vectors
  size_t arena_left;

  TidSet visited;  // nodes met at the current level
  int level;
  uint32 layer_first;    // the first entry of `nodes` visited at this level
  // Results are live nodes only: nodes VACUUM marked deleted are passed
  // through (expanded) but never returned, so a batch has ef live nodes
  // however many deleted ones lie between them. The descent ignores this.
  bool live_only;
  uint32 visit_limit;    // stop once `nnodes` reaches this (0: never)
  uint64 level0_visits;  // nodes read at level 0, for vecann.max_scan_tuples
  ItemPointerData* expand_links;  // the links of the node being expanded (2m)

  // The accessor interface of core/layer_search.h.
  void NewLayer(int new_level);
  bool FirstVisit(const ItemPointerData& tid) { return TidSetAdd(&visited, &tid); }
  size_t VisitMany(const ItemPointerData* refs, size_t n, core::Candidate* out, uint8* results);
  const ItemPointerData* Links(uint32 id, size_t* n);
  ItemPointerData RefOf(uint32 id) const { return nodes[id].tid; }
  void Prefetch(const ItemPointerData& tid) const;
  void PrefetchLinks(uint32) const {}  // the node's page was read just now
  bool Stop() const { return visit_limit != 0 && nnodes >= visit_limit; }
  core::Candidate* Resize(core::Candidate* old, uint32 size, uint32 capacity) const;

  uint32 Record(Page page, const ItemPointerData& tid, float* distance, uint8* result);
};

struct DiskSearch : DiskGraph {
  core::LayerSearch<DiskGraph> layer;
};
static_assert(std::is_trivial_v<DiskSearch>, "searches live in palloc'd memory, set up by SearchInit");

// Prepares a search for `query` (a prepared key, facts->query_words words);
// allocates in `cxt`.
void SearchInit(DiskSearch* s, Relation index, IndexFacts* facts, const float* query, bool keep_vectors,
                MemoryContext cxt);

// Starts a layer search at `level` from the given nodes (forgets the nodes
// visited on other levels; the found-node table is kept).
void SearchStartLayer(DiskSearch* s, int level, const ItemPointerData* entries, int nentries);

// Runs (or continues) the layer search with a list of `ef`; writes up to ef
// candidates (id = index into s->nodes) to out, nearest first; returns how many.
// 0 means the layer holds nothing more reachable, or (SearchStopped) the
// visit limit stopped the search.
int SearchBatch(DiskSearch* s, int ef, core::Candidate* out);
inline bool SearchStopped(const DiskSearch* s) { return s->layer.stopped(); }

// Descends from the entry point down to level `target` + 1 and writes the
// nodes to start level `target` from to `entries` (room for core::kDescentBeam),
// nearest first; returns how many, 0 if the index became empty. The index
// must not have been empty when the facts were read. An entry point that
// VACUUM removed meanwhile is followed to its successor.
int SearchDescend(DiskSearch* s, int target, ItemPointerData* entries);

// Reads one node's vector code and its neighbours at `level` (copies; share lock).
// `links` must hold core::MaxLinks(m, level) entries; returns the link count,
// or -1 when there is no node at tid (vacuum removed it).
int ReadNode(Relation index, const IndexFacts& facts, ItemPointer tid, int level, float* vector,
             ItemPointerData* links, NodeHeader* header);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_SEARCH_H_
