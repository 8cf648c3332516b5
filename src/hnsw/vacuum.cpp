// VACUUM support for the HNSW index.
//
// ambulkdelete works in three passes over the node pages:
//   1. mark: nodes whose rows VACUUM removes get the deleted flag (scans
//      skip them at once); every deleted node, of this or an earlier
//      interrupted vacuum, is collected;
//   2. repair: every live node that links to a deleted node gets new lists
//      at the levels concerned: like an insert, it searches for its own
//      vector and re-selects, with the same neighbour heuristic, among what
//      it finds and its live neighbours (so the graph stays connected across
//      the deleted nodes and recall holds); the entry point moves to a live
//      node of the highest level if it was deleted;
//   3. remove: deleted node tuples are removed from their pages without
//      renumbering the others (item pointers stay valid), and the free space
//      is recorded in the free space map, where inserts look first.
// A search that copied a link before pass 3 may still follow it: it finds no
// node there (a dead end) or a node inserted into the reused slot (an
// unrelated but valid node), never garbage. Every page change is WAL-logged
// with Generic WAL; pages are locked one at a time, as everywhere (see
// insert.cpp). amvacuumcleanup reports the index's size and live nodes.
#include "core/select_neighbors.h"
#include "hnsw/hnsw.h"
#include "hnsw/search.h"
#include "hnsw/tid_set.h"

extern "C" {
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kRepairRetries = 4;

struct VacuumState {
  IndexVacuumInfo* info;
  IndexBulkDeleteResult* stats;
  IndexFacts facts;
  TidSet dead;  // every node with the deleted flag
  MemoryContext cxt;
  // the live node of highest level seen in pass 2 (new entry point if needed)
  ItemPointerData top;
  int top_level;
};

Buffer ReadForVacuum(VacuumState* vs, BlockNumber blk) {
  return ReadBufferExtended(vs->info->index, MAIN_FORKNUM, blk, RBM_NORMAL, vs->info->strategy);
}

// Pass 1: marks the nodes of removed rows and collects all deleted nodes.
void MarkDeleted(VacuumState* vs, IndexBulkDeleteCallback callback, void* callback_state) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    vacuum_delay_point();
    Buffer buf = ReadForVacuum(vs, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    GenericXLogState* state = nullptr;
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      ItemId lp = PageGetItemId(page, off);
      if (!ItemIdIsNormal(lp)) continue;
      auto* node = reinterpret_cast<NodeHeader*>(PageGetItem(page, lp));
      if (!(node->flags & kNodeDeleted) && callback(&node->heap_tid, callback_state)) {
        if (!state) {
          state = GenericXLogStart(index);
          page = GenericXLogRegisterBuffer(state, buf, 0);
          node = reinterpret_cast<NodeHeader*>(PageGetItem(page, PageGetItemId(page, off)));
        }
        node->flags |= kNodeDeleted;
        vs->stats->tuples_removed += 1;
      }
      if (node->flags & kNodeDeleted) {
        ItemPointerData tid;
        ItemPointerSet(&tid, blk, off);
        TidSetAdd(&vs->dead, &tid);
      }
    }
    if (state) GenericXLogFinish(state);
    UnlockReleaseBuffer(buf);
  }
}

// A node's lists as read: level and every slot.
struct NodeCopy {
  ItemPointerData tid;
  int level;
  float* vector;
  ItemPointerData* slots;  // NodeSlots(m, level)
};

bool LinksToDead(VacuumState* vs, const NodeCopy& n, int level) {
  const ItemPointerData* list = n.slots + LevelSlotStart(vs->facts.m, level);
  for (int i = 0; i < LevelSlotCount(vs->facts.m, level); ++i) {
    if (ItemPointerIsValid(&list[i]) && TidSetFind(&vs->dead, &list[i])) return true;
  }
  return false;
}

// New lists for `n` at the levels that link to deleted nodes, into `fresh`
// (all of n's slots). Like an insert, it searches the graph for n's own
// vector from the entry point (ef_construction candidates per level) and
// re-selects, with the insert heuristic, among what it finds and n's live
// links; so links between regions that ran through deleted nodes are found
// again, not only the deleted nodes' own neighbours.
void RepairLists(VacuumState* vs, const NodeCopy& n, ItemPointerData* fresh) {
  IndexFacts& f = vs->facts;
  Relation index = vs->info->index;
  // Search with the node's vector as the query (decoded from its code).
  auto* query = static_cast<float*>(palloc(VectorBytes(f.query_words)));
  const float* q = CodeAsQuery(f, n.vector, query);
  size_t n_words = static_cast<size_t>(f.query_words);
  DiskSearch s;
  SearchInit(&s, index, &f, q, true, vs->cxt);
  int top = n.level < f.entry_level ? n.level : f.entry_level;
  ItemPointerData start = SearchDescend(&s, top);
  if (!ItemPointerIsValid(&start)) return;
  int most = f.ef_construction + 4 * LevelSlotCount(f.m, 0);
  auto* found = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * f.ef_construction));
  auto* entries = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * f.ef_construction));
  auto* tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * most));
  auto** vectors = static_cast<float**>(palloc(sizeof(float*) * most));
  auto* cands = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * most));
  auto* chosen = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * LevelSlotCount(f.m, 0)));
  int nentries = 1;
  entries[0] = start;
  for (int l = top; l >= 0; --l) {
    SearchStartLayer(&s, l, entries, nentries);
    int k = SearchBatch(&s, f.ef_construction, found);
    nentries = 0;
    for (int i = 0; i < k; ++i) entries[nentries++] = s.nodes[found[i].id].tid;
    if (!LinksToDead(vs, n, l)) continue;

    int count = 0;
    auto add = [&](const ItemPointerData* t, float* v, float d) {
      if (count >= most || ItemPointerEquals(const_cast<ItemPointer>(t), const_cast<ItemPointer>(&n.tid)) ||
          TidSetFind(&vs->dead, t)) {
        return;
      }
      for (int i = 0; i < count; ++i) {
        if (ItemPointerEquals(&tids[i], const_cast<ItemPointer>(t))) return;
      }
      tids[count] = *t;
      vectors[count] = v;
      cands[count] = core::Candidate{d, static_cast<uint32>(count)};
      ++count;
    };
    for (int i = 0; i < k; ++i) {
      const FoundNode& fn = s.nodes[found[i].id];
      if (!fn.deleted && fn.level >= l) add(&fn.tid, fn.vector, fn.distance);
    }
    int cap = LevelSlotCount(f.m, l);
    const ItemPointerData* list = n.slots + LevelSlotStart(f.m, l);
    for (int i = 0; i < cap; ++i) {
      if (!ItemPointerIsValid(&list[i]) || TidSetFind(&vs->dead, &list[i])) continue;
      float* v = static_cast<float*>(palloc(VectorBytes(f.dims)));
      NodeHeader header;
      if (ReadNode(index, f, const_cast<ItemPointer>(&list[i]), l, v, nullptr, &header) < 0 || header.level < l) continue;
      add(&list[i], v, f.distance(q, v, n_words));
    }
    // The deleted neighbours' own live neighbours: the links that ran
    // through a deleted node (between regions, say) are found again here.
    auto* two_hop = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
    for (int i = 0; i < cap && count < most; ++i) {
      if (!ItemPointerIsValid(&list[i]) || !TidSetFind(&vs->dead, &list[i])) continue;
      int h = ReadNode(index, f, const_cast<ItemPointer>(&list[i]), l, nullptr, two_hop, nullptr);
      for (int j = 0; j < h && count < most; ++j) {
        float* v = static_cast<float*>(palloc(VectorBytes(f.dims)));
        NodeHeader header;
        if (ReadNode(index, f, &two_hop[j], l, v, nullptr, &header) < 0 || header.level < l) continue;
        add(&two_hop[j], v, f.distance(q, v, n_words));
      }
    }
    core::SortCandidates(cands, count);
    auto code_of = [vectors](uint32 id) -> const float* { return vectors[id]; };
    CodePairDistance<decltype(code_of)> pair(&f, code_of);
    size_t kept = core::SelectNeighbors(cands, count, pair, cap, chosen);
    ItemPointerData* out = fresh + LevelSlotStart(f.m, l);
    for (int i = 0; i < cap; ++i) {
      if (static_cast<size_t>(i) < kept) {
        out[i] = tids[chosen[i].id];
      } else {
        ItemPointerSetInvalid(&out[i]);
      }
    }
  }
}

// Pass 2 for one node: rewrites its lists that link to deleted nodes.
void RepairNode(VacuumState* vs, const ItemPointerData* tid) {
  const IndexFacts& f = vs->facts;
  Relation index = vs->info->index;
  for (int attempt = 0; attempt < kRepairRetries; ++attempt) {
    MemoryContext old = MemoryContextSwitchTo(vs->cxt);
    NodeCopy n;
    n.tid = *tid;
    Buffer buf = ReadForVacuum(vs, ItemPointerGetBlockNumber(tid));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    const NodeHeader* node = FindNode(BufferGetPage(buf), const_cast<ItemPointer>(tid));
    if (!node || (node->flags & kNodeDeleted)) {
      UnlockReleaseBuffer(buf);
      MemoryContextSwitchTo(old);
      MemoryContextReset(vs->cxt);
      return;
    }
    n.level = node->level;
    size_t slot_bytes = sizeof(ItemPointerData) * NodeSlots(f.m, n.level);
    n.vector = static_cast<float*>(palloc(VectorBytes(f.dims)));
    n.slots = static_cast<ItemPointerData*>(palloc(slot_bytes));
    memcpy(n.vector, NodeVector(node), VectorBytes(f.dims));
    memcpy(n.slots, NodeSlotsPtr(node, f.dims), slot_bytes);
    UnlockReleaseBuffer(buf);

    auto* fresh = static_cast<ItemPointerData*>(palloc(slot_bytes));
    memcpy(fresh, n.slots, slot_bytes);
    RepairLists(vs, n, fresh);
    bool changed = memcmp(fresh, n.slots, slot_bytes) != 0;
    bool written = !changed;
    if (changed) {
      // Write the new lists only if nobody changed the node meanwhile.
      buf = ReadForVacuum(vs, ItemPointerGetBlockNumber(tid));
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      NodeHeader* current = FindNode(BufferGetPage(buf), const_cast<ItemPointer>(tid));
      if (current && current->level == n.level && memcmp(NodeSlotsPtr(current, f.dims), n.slots, slot_bytes) == 0) {
        GenericXLogState* state = GenericXLogStart(index);
        Page page = GenericXLogRegisterBuffer(state, buf, 0);
        current = FindNode(page, const_cast<ItemPointer>(tid));
        memcpy(NodeSlotsPtr(current, f.dims), fresh, slot_bytes);
        GenericXLogFinish(state);
        written = true;
      } else if (!current) {
        written = true;  // gone meanwhile: nothing to repair
      }
      UnlockReleaseBuffer(buf);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(vs->cxt);
    if (written) return;
  }
}

// Pass 2: repairs every live node that links to a deleted one, and finds the
// live node of the highest level.
void RepairGraph(VacuumState* vs) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  const IndexFacts& f = vs->facts;
  auto* repair = static_cast<OffsetNumber*>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    vacuum_delay_point();
    int nrepair = 0;
    Buffer buf = ReadForVacuum(vs, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      ItemId lp = PageGetItemId(page, off);
      if (!ItemIdIsNormal(lp)) continue;
      const auto* node = reinterpret_cast<const NodeHeader*>(PageGetItem(page, lp));
      if (node->flags & kNodeDeleted) continue;
      if (node->level > vs->top_level) {
        vs->top_level = node->level;
        ItemPointerSet(&vs->top, blk, off);
      }
      const ItemPointerData* slots = NodeSlotsPtr(node, f.dims);
      for (int i = 0; i < NodeSlots(f.m, node->level); ++i) {
        if (ItemPointerIsValid(&slots[i]) && TidSetFind(&vs->dead, &slots[i])) {
          repair[nrepair++] = off;
          break;
        }
      }
    }
    UnlockReleaseBuffer(buf);
    for (int i = 0; i < nrepair; ++i) {
      ItemPointerData tid;
      ItemPointerSet(&tid, blk, repair[i]);
      RepairNode(vs, &tid);
    }
  }
  pfree(repair);
}

// Moves the entry point off a deleted node (or empties it).
void RepairEntry(VacuumState* vs) {
  Relation index = vs->info->index;
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  HnswMetaData* meta = GetMeta(BufferGetPage(buf));
  if (ItemPointerIsValid(&meta->entry) && TidSetFind(&vs->dead, &meta->entry)) {
    GenericXLogState* state = GenericXLogStart(index);
    meta = GetMeta(GenericXLogRegisterBuffer(state, buf, 0));
    if (vs->top_level >= 0) {
      meta->entry = vs->top;
      meta->entry_level = static_cast<int16>(vs->top_level);
    } else {
      ItemPointerSetInvalid(&meta->entry);
      meta->entry_level = -1;
    }
    GenericXLogFinish(state);
  }
  UnlockReleaseBuffer(buf);
}

// Pass 3: removes deleted node tuples, keeping item numbers, and records the
// space freed.
void RemoveDeleted(VacuumState* vs) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    vacuum_delay_point();
    Buffer buf = ReadForVacuum(vs, blk);
    LockBufferForCleanup(buf);
    Page page = BufferGetPage(buf);
    GenericXLogState* state = nullptr;
    // From the highest offset down, so that deleting the last item (which
    // shrinks the line pointer array) cannot disturb the ones still to visit.
    for (OffsetNumber off = PageGetMaxOffsetNumber(page); off >= FirstOffsetNumber; --off) {
      ItemId lp = PageGetItemId(page, off);
      if (!ItemIdIsNormal(lp)) continue;
      const auto* node = reinterpret_cast<const NodeHeader*>(PageGetItem(page, lp));
      if (!(node->flags & kNodeDeleted)) continue;
      if (!state) {
        state = GenericXLogStart(index);
        page = GenericXLogRegisterBuffer(state, buf, 0);
      }
      PageIndexTupleDeleteNoCompact(page, off);
    }
    if (state) {
      PageSetHasFreeLinePointers(page);
      GenericXLogFinish(state);
      RecordPageWithFreeSpace(index, blk, PageGetFreeSpace(BufferGetPage(buf)));
    }
    UnlockReleaseBuffer(buf);
  }
  FreeSpaceMapVacuum(index);
}

// Counts the live nodes and the index's pages (amvacuumcleanup).
void CountLive(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  Relation index = info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  stats->num_index_tuples = 0;
  stats->pages_free = 0;
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    vacuum_delay_point();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int live = 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      ItemId lp = PageGetItemId(page, off);
      if (!ItemIdIsNormal(lp)) continue;
      live += !(reinterpret_cast<const NodeHeader*>(PageGetItem(page, lp))->flags & kNodeDeleted);
    }
    stats->num_index_tuples += live;
    stats->pages_free += live == 0;
    UnlockReleaseBuffer(buf);
  }
  stats->num_pages = nblocks;
}

}  // namespace

IndexBulkDeleteResult* BulkDelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                  IndexBulkDeleteCallback callback, void* callback_state) {
  if (!stats) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  VacuumState vs;
  memset(&vs, 0, sizeof(vs));
  vs.info = info;
  vs.stats = stats;
  vs.top_level = -1;
  vs.cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw vacuum", ALLOCSET_DEFAULT_SIZES);
  ReadFacts(info->index, &vs.facts);
  TidSetInit(&vs.dead, 1024, false, CurrentMemoryContext);

  MarkDeleted(&vs, callback, callback_state);
  if (vs.dead.count > 0) {
    RepairGraph(&vs);
    RepairEntry(&vs);
    RemoveDeleted(&vs);
  }
  MemoryContextDelete(vs.cxt);
  return stats;
}

IndexBulkDeleteResult* VacuumCleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only) return stats;
  if (!stats) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  CountLive(info, stats);
  return stats;
}

}  // namespace vecann::hnsw
