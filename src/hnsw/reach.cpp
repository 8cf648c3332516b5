// Reachability of an index's nodes from its entry point (see reach.h).
#include "hnsw/reach.h"

#include "hnsw/pages.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

// The bit of tid, or false when tid lies outside the maps.
bool BitOf(const Reachability& r, const ItemPointerData* tid, uint32* bit) {
  BlockNumber blk = ItemPointerGetBlockNumberNoCheck(tid);
  OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
  if (blk >= r.nblocks || off < FirstOffsetNumber || r.first_bit[blk] + (off - 1) >= r.first_bit[blk + 1]) {
    return false;
  }
  *bit = r.first_bit[blk] + (off - 1);
  return true;
}

void Mark(const Reachability& r, uint64* map, const ItemPointerData* tid) {
  uint32 bit;
  if (BitOf(r, tid, &bit)) map[bit / 64] |= 1ULL << (bit % 64);
}

// Grows a map from `from` to `to` bits, the new ones clear.
void GrowMap(uint64** map, uint32 from, uint32 to) {
  size_t old_words = from / 64 + 1, words = to / 64 + 1;
  *map = *map ? static_cast<uint64*>(repalloc_huge(*map, sizeof(uint64) * words))
              : static_cast<uint64*>(palloc_extended(sizeof(uint64) * words, MCXT_ALLOC_HUGE));
  memset(*map + (from ? old_words : 0), 0, sizeof(uint64) * (words - (from ? old_words : 0)));
}

}  // namespace

bool Marked(const Reachability& r, const uint64* map, const ItemPointerData* tid) {
  uint32 bit;
  return BitOf(r, tid, &bit) && (map[bit / 64] & (1ULL << (bit % 64))) != 0;
}

void FindReachable(Relation index, const IndexFacts& f, BufferAccessStrategy strategy, Reachability* r) {
  memset(r, 0, sizeof(*r));
  r->nblocks = RelationGetNumberOfBlocks(index);
  r->first_bit = static_cast<uint32*>(palloc_extended(sizeof(uint32) * (r->nblocks + 1), MCXT_ALLOC_HUGE));
  ItemPointerSetInvalid(&r->top);
  r->top_level = -1;

  // Every node there is, in physical order; each block's line pointers get
  // the next bits of the maps, which grow as they fill.
  uint32 bits = 0, capacity = 0;
  r->first_bit[kMetaBlock] = 0;
  for (BlockNumber blk = kMetaBlock + 1; blk < r->nblocks; ++blk) {
    r->first_bit[blk] = bits;
    pg::VacuumDelayPoint();
    Buffer buf = ReadNodeBuffer(index, blk, strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int live_here = 0;
    if (CheckNodePage(index, page, blk)) {
      OffsetNumber max = PageGetMaxOffsetNumber(page);
      if (bits + max > capacity) {
        uint32 next = Max(2 * capacity, bits + max + 1024);
        GrowMap(&r->present, capacity, next);
        GrowMap(&r->live, capacity, next);
        GrowMap(&r->reached, capacity, next);
        capacity = next;
      }
      bits += max;
      for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
        const NodeHeader* node = NodeAt(index, f, page, blk, off);
        if (!node) continue;
        ItemPointerData tid;
        ItemPointerSet(&tid, blk, off);
        r->first_bit[blk + 1] = bits;  // Mark needs the block's end
        Mark(*r, r->present, &tid);
        ++r->nodes;
        if (node->flags & kNodeDeleted) continue;
        Mark(*r, r->live, &tid);
        ++r->live_nodes;
        ++live_here;
        if (node->level > r->top_level) {
          r->top_level = node->level;
          r->top = tid;
        }
      }
    }
    r->pages_without_live += live_here == 0;
    UnlockReleaseBuffer(buf);
  }
  r->first_bit[r->nblocks] = bits;
  if (capacity == 0) {
    GrowMap(&r->present, 0, 64);
    GrowMap(&r->live, 0, 64);
    GrowMap(&r->reached, 0, 64);
  }

  // The walk from the entry point, over nodes the first pass saw, as a
  // search may move: along a level's links at that level, or down a level
  // at the node it is on, never up. reached[bit] is the highest level a node
  // was reached at (-1: not), expanded[bit] the highest whose links were
  // followed; a node is queued again when it is reached at a higher level,
  // so at most max_level + 1 times.
  if (!ItemPointerIsValid(&f.entry) || !Marked(*r, r->present, &f.entry)) {
    r->unreachable = r->live_nodes;
    return;
  }
  uint32 nbits = r->first_bit[r->nblocks];
  auto* reached = static_cast<int8*>(palloc_extended(Max(nbits, 1u), MCXT_ALLOC_HUGE));
  auto* expanded = static_cast<int8*>(palloc_extended(Max(nbits, 1u), MCXT_ALLOC_HUGE));
  memset(reached, -1, nbits);
  memset(expanded, -1, nbits);
  size_t queue_capacity = static_cast<size_t>(Max(r->nodes, static_cast<int64>(64)));
  auto* queue = static_cast<ItemPointerData*>(palloc_extended(sizeof(ItemPointerData) * queue_capacity, MCXT_ALLOC_HUGE));
  auto* slots = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * NodeSlots(f.m, f.max_level)));
  size_t head = 0, tail = 0;
  uint32 bit;
  BitOf(*r, &f.entry, &bit);
  reached[bit] = static_cast<int8>(f.entry_level);
  queue[tail++] = f.entry;
  while (head < tail) {
    ItemPointerData tid = queue[head++];
    if (head % 256 == 0) pg::VacuumDelayPoint();
    BitOf(*r, &tid, &bit);
    int hi = reached[bit], lo = expanded[bit];
    if (hi <= lo) continue;
    expanded[bit] = static_cast<int8>(hi);
    Buffer buf = ReadNodeBuffer(index, ItemPointerGetBlockNumber(&tid), strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const NodeHeader* node = FindNode(index, f, BufferGetPage(buf), &tid);
    int top = node ? Min(hi, static_cast<int>(node->level)) : -1;
    if (top >= 0) memcpy(slots, NodeSlotsPtr(node, f.code_words), sizeof(ItemPointerData) * NodeSlots(f.m, top));
    UnlockReleaseBuffer(buf);
    for (int l = lo + 1; l <= top; ++l) {
      const ItemPointerData* list = slots + LevelSlotStart(f.m, l);
      for (int i = 0; i < core::MaxLinks(f.m, l); ++i) {
        uint32 target;
        if (!ItemPointerIsValid(&list[i]) || !Marked(*r, r->present, &list[i])) continue;
        BitOf(*r, &list[i], &target);
        if (reached[target] >= l) continue;
        reached[target] = static_cast<int8>(l);
        if (tail == queue_capacity) {
          queue_capacity *= 2;
          queue = static_cast<ItemPointerData*>(repalloc_huge(queue, sizeof(ItemPointerData) * queue_capacity));
        }
        queue[tail++] = list[i];
      }
    }
  }
  for (uint32 b = 0; b < nbits; ++b) {
    if (reached[b] >= 0) r->reached[b / 64] |= 1ULL << (b % 64);
  }
  ForEachUnreachable(*r, [r](const ItemPointerData*) { ++r->unreachable; });
  r->reached_live = r->live_nodes - r->unreachable;
  pfree(queue);
  pfree(slots);
  pfree(reached);
  pfree(expanded);
}

}  // namespace vecann::hnsw
