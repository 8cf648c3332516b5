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
    vacuum_delay_point();
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

  // The walk from the entry point, over nodes the first pass saw.
  if (!ItemPointerIsValid(&f.entry) || !Marked(*r, r->present, &f.entry)) {
    r->unreachable = r->live_nodes;
    return;
  }
  auto* queue = static_cast<ItemPointerData*>(
      palloc_extended(sizeof(ItemPointerData) * (r->nodes > 0 ? r->nodes : 1), MCXT_ALLOC_HUGE));
  auto* slots = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * NodeSlots(f.m, f.max_level)));
  int64 head = 0, tail = 0;
  Mark(*r, r->reached, &f.entry);
  queue[tail++] = f.entry;
  while (head < tail) {
    ItemPointerData tid = queue[head++];
    if (head % 256 == 0) vacuum_delay_point();
    Buffer buf = ReadNodeBuffer(index, ItemPointerGetBlockNumber(&tid), strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const NodeHeader* node = FindNode(index, f, BufferGetPage(buf), &tid);
    int nslots = 0;
    if (node) {
      nslots = NodeSlots(f.m, node->level);
      memcpy(slots, NodeSlotsPtr(node, f.dims), sizeof(ItemPointerData) * nslots);
    }
    UnlockReleaseBuffer(buf);
    for (int i = 0; i < nslots; ++i) {
      if (!ItemPointerIsValid(&slots[i]) || !Marked(*r, r->present, &slots[i]) || Marked(*r, r->reached, &slots[i])) {
        continue;
      }
      Mark(*r, r->reached, &slots[i]);
      queue[tail++] = slots[i];
    }
  }
  r->reached_nodes = tail;
  ForEachUnreachable(*r, [r](const ItemPointerData*) { ++r->unreachable; });
  pfree(queue);
  pfree(slots);
}

}  // namespace vecann::hnsw
