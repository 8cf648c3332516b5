// Finding and writing a node's neighbours in the on-disk graph: the steps an
// insert, VACUUM's repair and its reachability sweep share.
//
// FindNeighbors searches the graph for a vector, as an insert does, and
// collects per level the ef_construction nearest live nodes. It navigates
// through nodes that VACUUM has marked deleted but not yet removed (they stay
// waypoints) and, when those crowd out the live ones (a VACUUM interrupted
// after marking most of the index), searches further, within a bound. A node
// never links to a deleted node (VACUUM may remove it without repairing the
// link, see vacuum.cpp); if no live node is within reach, the nearest
// deleted ones are offered as waypoints that link to the new node instead.
//
// LinkBack adds a node to another node's list at one level, re-selecting a
// full list with the neighbour heuristic; with `force` it makes room for the
// node even if the heuristic would drop it (so that every node keeps at least
// one incoming link at level 0). Lists are rewritten optimistically: read
// under a share lock, decide, re-lock exclusively and write only if the list
// is still what was read (bounded retries). Every write is Generic WAL.
#ifndef VECANN_HNSW_NEIGHBORS_H_
#define VECANN_HNSW_NEIGHBORS_H_

#include "core/hnsw_types.h"
#include "hnsw/hnsw.h"
#include "hnsw/search.h"
#include "hnsw/tid_set.h"

namespace vecann::hnsw {

// Candidate neighbours at one level: node TIDs, their codes (copied; valid as
// long as the search's memory context) and distances to the base node.
struct LevelCandidates {
  int count;
  int capacity;
  ItemPointerData* tids;
  const float** codes;
  core::Candidate* cands;  // id = index into tids and codes
  // When no live node was found: the nearest deleted nodes met (at most m),
  // to link to the new node, never the other way (see FindNeighbors).
  int nwaypoints;
  ItemPointerData* waypoints;
  float* waypoint_distances;
};

void CandidatesInit(LevelCandidates* c, int capacity);
// Adds a candidate unless the list is full or already holds tid.
void CandidatesAdd(LevelCandidates* c, const ItemPointerData* tid, const float* code, float distance);

// The nodes a FindNeighbors search read, by TID: the back-links that follow
// it take the codes of neighbours that were live then from here instead of
// reading the nodes again. Codes never change, and a node live at the search
// cannot be removed before the insert ends: VACUUM marks it first, then waits
// for the inserts in progress (the insert lock), and removes it only after.
// (A node that was already deleted may be removed, and its TID reused,
// meanwhile: those are read again.) VACUUM's own re-linking runs while no
// node is being removed.
struct KnownNodes {
  TidSet by_tid;  // tid -> index into nodes
  const FoundNode* nodes;
};

// Searches for `query` (a prepared key) from the entry point and fills
// out[l] for every level l from `top` down to 0 with the nodes found there
// (excluding `self`, when given); fills *known (if given) with every node
// read. Returns false when the index turned out empty. Allocates in `cxt`;
// may refresh facts->entry.
bool FindNeighbors(Relation index, IndexFacts* facts, const float* query, int top, const ItemPointerData* self,
                   LevelCandidates* out, KnownNodes* known, MemoryContext cxt);

// Chooses up to `cap` neighbours among the candidates with the heuristic
// (sorting them), writes their TIDs to `out`, nearest first; returns how many.
int SelectLinks(const IndexFacts& facts, LevelCandidates* c, int cap, ItemPointerData* out);

// Puts `to` (with code `to_code`) into the list of `from` at `level`; returns
// whether `to` is in that list afterwards (false also when `from` is gone).
// The codes of from's neighbours come from `known` when it has them live.
bool LinkBack(Relation index, const IndexFacts& facts, const ItemPointerData* from, int level,
              const ItemPointerData* to, const float* to_code, bool force, const KnownNodes* known);

// Links `to` back from each of its chosen neighbours at every level (from
// the waypoints of `found` at a level where it has none), forcing the
// nearest at level 0 to keep it when none of them did.
void LinkBackAll(Relation index, const IndexFacts& facts, const ItemPointerData* to, const float* to_code, int top,
                 ItemPointerData* const* links, const int* nlinks, const LevelCandidates* found,
                 const KnownNodes* known);

// Reads a whole node: its header, and copies (palloc'd) of its code and of
// all its slots; false when there is no node at tid.
bool ReadWholeNode(Relation index, const IndexFacts& facts, const ItemPointerData* tid, NodeHeader* header,
                   float** code, ItemPointerData** slots, BufferAccessStrategy strategy);

enum class RewriteResult { kWritten, kChanged, kGone };

// The one optimistic write of neighbour lists (insert, VACUUM repair and
// re-linking all use it): replaces the slots of levels first_level ..
// last_level of the node at tid with `fresh` if they are still `expected`
// (both as read from the node: every slot of those levels, invalid ones
// too). kChanged when someone rewrote them meanwhile (read and decide
// again), kGone when no node of at least last_level is at tid. A node
// marked deleted is written too: inserts link waypoints back, and only
// VACUUM marks nodes, never while it repairs or re-links one.
RewriteResult RewriteSlots(Relation index, const IndexFacts& facts, const ItemPointerData* tid, int first_level,
                           int last_level, const ItemPointerData* expected, const ItemPointerData* fresh,
                           BufferAccessStrategy strategy);

// Re-links an existing live node as if it were inserted again: new lists from
// a fresh search (written if the node did not change meanwhile) and links back
// from the chosen neighbours. For nodes no search can reach.
void RelinkNode(Relation index, IndexFacts* facts, const ItemPointerData* tid, MemoryContext cxt);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_NEIGHBORS_H_
