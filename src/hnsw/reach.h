// Which nodes of an index a search can reach: a pass over all node pages
// notes every node (and which are live), then a breadth-first walk from the
// entry point marks what it reaches, moving as a search does: along a
// level's links at that level, or down a level, never up (so a node linked
// to only at level 1, from a node reached at level 0 only, is not reached;
// deleted nodes still present are waypoints).
// Used by VACUUM, which re-links the live nodes found unreachable, and by
// hnsw_check, which reports them.
//
// Nodes are kept as bits, one per line pointer the first pass saw (block by
// block: a few bits per node and 4 bytes per page), and the walk's queue holds
// each node at most once. Nodes added after the first pass are not in the
// maps: the walk does not follow links to them, and they are not counted.
#ifndef VECANN_HNSW_REACH_H_
#define VECANN_HNSW_REACH_H_

#include "hnsw/hnsw.h"

namespace vecann::hnsw {

struct Reachability {
  BlockNumber nblocks;
  uint32* first_bit;  // per block: its first bit; first_bit[nblocks] = bits in all
  uint64* present;    // a node tuple is there
  uint64* live;       // ... and it is not marked deleted
  uint64* reached;    // ... and the walk from the entry point got there
  int64 nodes;
  int64 live_nodes;
  int64 reached_live;   // live nodes reached
  int64 unreachable;    // live nodes not reached
  ItemPointerData top;  // a live node of the highest level, invalid if none
  int top_level;
  BlockNumber pages_without_live;  // node pages with no live node
};

// Walks the index (see the file comment) from facts.entry. Errors on a
// corrupt page or node (pages.h). Allocates in the current memory context.
void FindReachable(Relation index, const IndexFacts& facts, BufferAccessStrategy strategy, Reachability* r);

// Whether tid is marked in one of r's maps (false outside them).
bool Marked(const Reachability& r, const uint64* map, const ItemPointerData* tid);

// Calls fn(tid) for every live node the walk did not reach.
template <typename Fn>
void ForEachUnreachable(const Reachability& r, Fn fn) {
  for (BlockNumber blk = kMetaBlock + 1; blk < r.nblocks; ++blk) {
    for (uint32 bit = r.first_bit[blk]; bit < r.first_bit[blk + 1]; ++bit) {
      uint64 mask = 1ULL << (bit % 64);
      if ((r.live[bit / 64] & mask) && !(r.reached[bit / 64] & mask)) {
        ItemPointerData tid;
        ItemPointerSet(&tid, blk, static_cast<OffsetNumber>(bit - r.first_bit[blk] + 1));
        fn(&tid);
      }
    }
  }
}

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_REACH_H_
