// Best-first search over the on-disk graph, shared by index scans and inserts.
//
// Visiting a node costs one buffer access: pin, share-lock, compute the
// distance to the query straight from the page, copy the node's heap TID (and
// its vector, for inserts), unlock. Expanding a node (a small fraction of the
// visited ones) reads its neighbour list at the searched level with a second
// access, while its page is still in cache, and prefetches the pages of the
// neighbours not yet visited.
// Everything a search finds lives in its memory context (no allocation per
// node beyond bump allocation); every local is trivially destructible, so any
// Postgres call here may ereport safely.
//
// A layer search keeps three heaps of (distance, node) candidates:
//   frontier  min-heap of nodes whose neighbours are not yet expanded
//   results   max-heap of the best `ef` nodes of the current batch
//   spill     min-heap of nodes pushed out of `results` (kept for later batches)
// SearchBatch() is the classic HNSW layer search (stop when the nearest
// unexpanded node is farther than the worst of `ef` results). Calling it again
// continues where it stopped: `results` is refilled from `spill` and the
// frontier is expanded further, so a scan can return more rows than ef.
#ifndef VECANN_HNSW_SEARCH_H_
#define VECANN_HNSW_SEARCH_H_

#include "core/hnsw_types.h"
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

struct DiskSearch {
  Relation index;
  IndexFacts* facts;  // the caller's; SearchDescend refreshes a stale entry point
  const float* query;
  bool keep_vectors;
  MemoryContext cxt;

  FoundNode* nodes;
  uint32 nnodes;
  uint32 nodes_capacity;

  char* arena;  // bump allocation for vectors
  size_t arena_left;

  TidSet visited;  // nodes met at the current level
  int level;
  uint32 layer_first;    // the first entry of `nodes` visited at this level
  // Results hold live nodes only: nodes VACUUM marked deleted are passed
  // through (expanded) but never returned, so a batch has ef live nodes
  // however many deleted ones lie between them. The descent ignores this.
  bool live_only;
  uint32 visit_limit;    // stop once `nnodes` reaches this (0: never)
  bool limit_reached;
  uint64 level0_visits;  // nodes read at level 0, for vecann.max_scan_tuples

  core::Candidate* frontier;
  uint32 nfrontier, frontier_capacity;
  core::Candidate* results;
  uint32 nresults, results_capacity;
  core::Candidate* spill;
  uint32 nspill, spill_capacity;
  ItemPointerData* expand_links;  // the links of the node being expanded (2m)
};

// Prepares a search for `query` (a prepared key, facts->query_words words);
// allocates in `cxt`.
void SearchInit(DiskSearch* s, Relation index, IndexFacts* facts, const float* query, bool keep_vectors,
                MemoryContext cxt);

// Starts a layer search at `level` from the given nodes (forgets the nodes
// visited on other levels; the found-node table is kept).
void SearchStartLayer(DiskSearch* s, int level, const ItemPointerData* entries, int nentries);

// Runs (or continues) the layer search with a list of `ef`; writes up to ef
// candidates (id = index into s->nodes) to out, nearest first; returns how many.
// 0 means the layer holds nothing more reachable, or (limit_reached) the
// visit limit stopped the search.
int SearchBatch(DiskSearch* s, int ef, core::Candidate* out);

// The descent from the entry point to level `target` + 1 keeps the nearest
// kDescentBeam nodes of each level (not only the nearest one: on clustered
// data a single greedy path through a sparse upper level is often trapped
// in the wrong cluster, more so after VACUUM thinned it) and starts the next
// level from all of them.
constexpr int kDescentBeam = 4;

// Descends from the entry point down to level `target` + 1 and writes the
// nodes to start level `target` from to `entries` (room for kDescentBeam),
// nearest first; returns how many, 0 if the index became empty. The index
// must not have been empty when the facts were read. An entry point that
// VACUUM removed meanwhile is followed to its successor.
int SearchDescend(DiskSearch* s, int target, ItemPointerData* entries);

// Reads one node's vector code and its neighbours at `level` (copies; share lock).
// `links` must hold LevelSlotCount(m, level) entries; returns the link count,
// or -1 when there is no node at tid (vacuum removed it).
int ReadNode(Relation index, const IndexFacts& facts, ItemPointer tid, int level, float* vector,
             ItemPointerData* links, NodeHeader* header);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_SEARCH_H_
