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
// insert.cpp).
//
// VACUUM may be cancelled between and inside these passes (autovacuum is,
// routinely): nodes then stay marked deleted, scans skip them, searches pass
// through them, inserts link to the live nodes behind them (neighbors.h), and
// the next VACUUM collects and removes them.
//
// amvacuumcleanup, which runs at the end of every VACUUM, makes sure every
// live node is reachable from the entry point: it walks the graph (reach.h)
// and re-links each live node the walk missed (an insert whose neighbours all
// pruned it, a node whose only incoming links ran through removed nodes, a
// node inserted while the entry point was being moved) as if it were inserted
// again, with an incoming link from its nearest neighbour; then it counts the
// index's live nodes and pages.
#include "hnsw/hnsw.h"
#include "hnsw/neighbors.h"
#include "hnsw/pages.h"
#include "hnsw/reach.h"
#include "hnsw/search.h"
#include "hnsw/tid_set.h"

extern "C" {
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kRepairRetries = 4;
constexpr int kSweepRounds = 3;  // re-linking rounds of one VACUUM

struct VacuumState {
  IndexVacuumInfo* info;
  IndexBulkDeleteResult* stats;
  IndexFacts facts;
  TidSet dead;  // every node with the deleted flag
  MemoryContext cxt;
  // The new entry point if the old one is deleted: a live node of the highest
  // level seen in pass 2, of those preferring one with a level-0 link to a
  // live node (a node without links would make a poor entry).
  ItemPointerData top;
  int top_level;
  bool top_linked;
};

// Pins a node block (checked against the index's size) with VACUUM's strategy.
Buffer ReadForVacuum(VacuumState* vs, BlockNumber blk) { return ReadNodeBuffer(vs->info->index, blk, vs->info->strategy); }

// Pass 1: marks the nodes of removed rows and collects all deleted nodes.
void MarkDeleted(VacuumState* vs, IndexBulkDeleteCallback callback, void* callback_state) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    pg::VacuumDelayPoint();
    Buffer buf = ReadForVacuum(vs, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    if (!CheckNodePage(index, page, blk)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    GenericXLogState* state = nullptr;
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      NodeHeader* node = NodeAt(index, vs->facts, page, blk, off);
      if (!node) continue;
      if (!(node->flags & kNodeDeleted) && callback(&node->heap_tid, callback_state)) {
        if (!state) {
          state = GenericXLogStart(index);
          page = GenericXLogRegisterBuffer(state, buf, 0);
          node = NodeAt(index, vs->facts, page, blk, off);
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

// Reads a live node for repair: its level, code and all its slots.
struct NodeCopy {
  ItemPointerData tid;
  int level;
  float* vector;
  ItemPointerData* slots;  // NodeSlots(m, level)
};

bool LinksToDead(VacuumState* vs, const NodeCopy& n, int level) {
  const ItemPointerData* list = n.slots + LevelSlotStart(vs->facts.m, level);
  for (int i = 0; i < core::MaxLinks(vs->facts.m, level); ++i) {
    if (ItemPointerIsValid(&list[i]) && TidSetFind(&vs->dead, &list[i])) return true;
  }
  return false;
}

// How many of a list's `cap` slots name deleted nodes.
int CountDead(VacuumState* vs, const ItemPointerData* list, int cap) {
  int n = 0;
  for (int i = 0; i < cap; ++i) n += ItemPointerIsValid(&list[i]) && TidSetFind(&vs->dead, &list[i]);
  return n;
}

// Adds a node to a repair's candidates unless it is deleted, is the repaired
// node itself, or lacks the level; reads its code.
void AddLinkCandidate(VacuumState* vs, const NodeCopy& n, int level, const float* q, const ItemPointerData* tid,
                      LevelCandidates* c) {
  const IndexFacts& f = vs->facts;
  if (TidSetFind(&vs->dead, tid) || ItemPointerEquals(const_cast<ItemPointer>(tid), const_cast<ItemPointer>(&n.tid))) {
    return;
  }
  float* v = static_cast<float*>(palloc(WordBytes(f.code_words)));
  NodeHeader header;
  if (ReadNode(vs->info->index, f, const_cast<ItemPointer>(tid), level, v, nullptr, &header) < 0 ||
      header.level < level || (header.flags & kNodeDeleted)) {
    return;
  }
  CandidatesAdd(c, tid, v, f.distance(q, v, static_cast<size_t>(f.query_words)));
}

// Clears the slots of levels from..to of `fresh` (a node's slots) that name deleted nodes.
void DropDeadLinksIn(VacuumState* vs, ItemPointerData* fresh, int from, int to) {
  for (int l = from; l <= to; ++l) {
    ItemPointerData* list = fresh + LevelSlotStart(vs->facts.m, l);
    for (int i = 0; i < core::MaxLinks(vs->facts.m, l); ++i) {
      if (ItemPointerIsValid(&list[i]) && TidSetFind(&vs->dead, &list[i])) ItemPointerSetInvalid(&list[i]);
    }
  }
}

// New lists for `n` at the levels that link to deleted nodes, into `fresh`
// (all of n's slots). Like an insert, it searches the graph for n's own
// vector from the entry point (FindNeighbors) and re-selects, with the
// insert heuristic, among what it finds, n's live links and the live
// neighbours of its deleted ones; so links between regions that ran through
// deleted nodes are found again, not only the deleted nodes' own neighbours.
void RepairLists(VacuumState* vs, const NodeCopy& n, ItemPointerData* fresh) {
  IndexFacts& f = vs->facts;
  Relation index = vs->info->index;
  auto* query = static_cast<float*>(palloc(WordBytes(f.query_words)));
  const float* q = CodeAsQuery(f, n.vector, query);
  // Levels no search from the entry point reaches (above its level, or all
  // of them when the index has no entry point) just lose their links to
  // deleted nodes, which pass 3 removes.
  int top = ItemPointerIsValid(&f.entry) ? Min(n.level, f.entry_level) : -1;
  DropDeadLinksIn(vs, fresh, top + 1, n.level);
  if (top < 0) return;
  auto* found = static_cast<LevelCandidates*>(palloc(sizeof(LevelCandidates) * (top + 1)));
  if (!FindNeighbors(index, &f, q, top, &n.tid, found, nullptr, vs->cxt)) {
    DropDeadLinksIn(vs, fresh, 0, top);
    return;
  }
  int most = f.ef_construction + 5 * core::MaxLinks(f.m, 0);  // found, live links, two-hop
  for (int l = top; l >= 0; --l) {
    if (!LinksToDead(vs, n, l)) continue;
    LevelCandidates c;
    CandidatesInit(&c, most);
    for (int i = 0; i < found[l].count; ++i) {
      if (!TidSetFind(&vs->dead, &found[l].tids[i])) {
        CandidatesAdd(&c, &found[l].tids[i], found[l].codes[i], found[l].cands[i].distance);
      }
    }
    int cap = core::MaxLinks(f.m, l);
    const ItemPointerData* list = n.slots + LevelSlotStart(f.m, l);
    auto* two_hop = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
    for (int i = 0; i < cap; ++i) {
      if (ItemPointerIsValid(&list[i]) && !TidSetFind(&vs->dead, &list[i])) AddLinkCandidate(vs, n, l, q, &list[i], &c);
    }
    // The deleted neighbours' own neighbours: the links that ran through
    // them (between regions, say) are found again here. At most 4 * cap of
    // them are read, an equal share from each deleted neighbour, so a node
    // that lost many neighbours costs no more than one that lost a few.
    int budget = 4 * cap, two_hop_reads = 0;
    int share = Max(1, budget / Max(1, CountDead(vs, list, cap)));
    for (int i = 0; i < cap && two_hop_reads < budget; ++i) {
      if (!ItemPointerIsValid(&list[i]) || !TidSetFind(&vs->dead, &list[i])) continue;
      int h = ReadNode(index, f, const_cast<ItemPointer>(&list[i]), l, nullptr, two_hop, nullptr);
      for (int j = 0; j < h && j < share && two_hop_reads < budget; ++j, ++two_hop_reads) {
        AddLinkCandidate(vs, n, l, q, &two_hop[j], &c);
      }
    }
    ItemPointerData* out = fresh + LevelSlotStart(f.m, l);
    int kept = SelectLinks(f, &c, cap, out);
    for (int i = kept; i < cap; ++i) ItemPointerSetInvalid(&out[i]);
  }
}

// Clears, under an exclusive lock, the slots of a node that name deleted nodes.
void DropDeadLinks(VacuumState* vs, const ItemPointerData* tid) {
  Relation index = vs->info->index;
  const IndexFacts& f = vs->facts;
  Buffer buf = ReadForVacuum(vs, ItemPointerGetBlockNumber(tid));
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  NodeHeader* node = FindNode(index, f, BufferGetPage(buf), tid);
  bool dead_links = false;
  for (int i = 0; node && i < NodeSlots(f.m, node->level); ++i) {
    const ItemPointerData* slot = NodeSlotsPtr(node, f.code_words) + i;
    dead_links |= ItemPointerIsValid(slot) && TidSetFind(&vs->dead, slot);
  }
  if (dead_links) {
    GenericXLogState* state = GenericXLogStart(index);
    node = FindNode(index, f, GenericXLogRegisterBuffer(state, buf, 0), tid);
    ItemPointerData* slots = NodeSlotsPtr(node, f.code_words);
    for (int i = 0; i < NodeSlots(f.m, node->level); ++i) {
      if (ItemPointerIsValid(&slots[i]) && TidSetFind(&vs->dead, &slots[i])) ItemPointerSetInvalid(&slots[i]);
    }
    GenericXLogFinish(state);
  }
  UnlockReleaseBuffer(buf);
}

// Pass 2 for one node: rewrites its lists that link to deleted nodes.
void RepairNode(VacuumState* vs, const ItemPointerData* tid) {
  for (int attempt = 0; attempt < kRepairRetries; ++attempt) {
    MemoryContext old = MemoryContextSwitchTo(vs->cxt);
    NodeCopy n;
    n.tid = *tid;
    NodeHeader header;
    bool present = ReadWholeNode(vs->info->index, vs->facts, tid, &header, &n.vector, &n.slots, vs->info->strategy);
    RewriteResult result = RewriteResult::kGone;
    if (present && !(header.flags & kNodeDeleted)) {
      n.level = header.level;
      size_t slot_bytes = sizeof(ItemPointerData) * NodeSlots(vs->facts.m, n.level);
      auto* fresh = static_cast<ItemPointerData*>(palloc(slot_bytes));
      memcpy(fresh, n.slots, slot_bytes);
      RepairLists(vs, n, fresh);
      result = memcmp(fresh, n.slots, slot_bytes) == 0
                   ? RewriteResult::kWritten
                   : RewriteSlots(vs->info->index, vs->facts, tid, 0, n.level, n.slots, fresh, vs->info->strategy);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(vs->cxt);
    if (result != RewriteResult::kChanged) return;
  }
  // Inserts kept changing the node: at least drop its links to deleted
  // nodes, in place, so none dangles after pass 3.
  DropDeadLinks(vs, tid);
}

// Pass 2: repairs every live node that links to a deleted one, and finds the
// live node of the highest level.
void RepairGraph(VacuumState* vs) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  const IndexFacts& f = vs->facts;
  auto* repair = static_cast<OffsetNumber*>(palloc(sizeof(OffsetNumber) * MaxOffsetNumber));
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    pg::VacuumDelayPoint();
    int nrepair = 0;
    Buffer buf = ReadForVacuum(vs, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (!CheckNodePage(index, page, blk)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      const NodeHeader* node = NodeAt(index, f, page, blk, off);
      if (!node || (node->flags & kNodeDeleted)) continue;
      const ItemPointerData* slots = NodeSlotsPtr(node, f.code_words);
      bool linked = false, to_dead = false;
      for (int i = 0; i < NodeSlots(f.m, node->level); ++i) {
        if (!ItemPointerIsValid(&slots[i])) continue;
        bool dead = TidSetFind(&vs->dead, &slots[i]);
        to_dead |= dead;
        linked |= !dead && i < core::MaxLinks(f.m, 0);
      }
      if (to_dead) repair[nrepair++] = off;
      if (node->level > vs->top_level || (node->level == vs->top_level && linked && !vs->top_linked)) {
        vs->top_level = node->level;
        vs->top_linked = linked;
        ItemPointerSet(&vs->top, blk, off);
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

// Sets the metapage's entry point (its buffer exclusively locked), WAL-logged.
void SetEntry(Relation index, Buffer meta_buf, const ItemPointerData* entry, int level) {
  GenericXLogState* state = GenericXLogStart(index);
  HnswMetaData* meta = GetMeta(GenericXLogRegisterBuffer(state, meta_buf, 0));
  if (entry != nullptr) {
    meta->entry = *entry;
    meta->entry_level = static_cast<int16>(level);
  } else {
    ItemPointerSetInvalid(&meta->entry);
    meta->entry_level = -1;
  }
  SealMeta(meta);
  GenericXLogFinish(state);
}

// Moves the entry point off a deleted node, to the node pass 2 chose; with
// no live node seen, the index gets no entry point. Rows inserted meanwhile
// on pages pass 2 had passed are then not lost: scans of an index without an
// entry point read all of it (the sweep, scan.cpp), the next insert becomes
// the entry point, and amvacuumcleanup links every live node to it.
void RepairEntry(VacuumState* vs) {
  Relation index = vs->info->index;
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  HnswMetaData* meta = GetMeta(BufferGetPage(buf));
  if (ItemPointerIsValid(&meta->entry) && TidSetFind(&vs->dead, &meta->entry)) {
    SetEntry(index, buf, vs->top_level >= 0 ? &vs->top : nullptr, vs->top_level);
  }
  UnlockReleaseBuffer(buf);
}

// Pass 3: removes deleted node tuples, keeping item numbers, and records the
// space freed.
void RemoveDeleted(VacuumState* vs) {
  Relation index = vs->info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    pg::VacuumDelayPoint();
    Buffer buf = ReadForVacuum(vs, blk);
    LockBufferForCleanup(buf);
    Page page = BufferGetPage(buf);
    if (!CheckNodePage(index, page, blk)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    GenericXLogState* state = nullptr;
    // From the highest offset down, so that deleting the last item (which
    // shrinks the line pointer array) cannot disturb the ones still to visit.
    for (OffsetNumber off = PageGetMaxOffsetNumber(page); off >= FirstOffsetNumber; --off) {
      const NodeHeader* node = NodeAt(index, vs->facts, page, blk, off);
      if (!node || !(node->flags & kNodeDeleted)) continue;
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

// Makes every live node reachable (see the file comment): re-links those the
// walk from the entry point missed, a few rounds at most (re-linking one can
// take a slot another one needed), and reports the counts of the last walk.
void Sweep(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  Relation index = info->index;
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw sweep", ALLOCSET_DEFAULT_SIZES);
  // A sibling, not a child: resetting `cxt` between rounds deletes its children.
  MemoryContext relink_cxt =
      AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw relink", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  IndexFacts f;
  Reachability r;
  for (int round = 0;; ++round) {
    ReadFacts(index, &f);
    FindReachable(index, f, info->strategy, &r);
    if (r.live_nodes > 0 &&
        (!ItemPointerIsValid(&f.entry) || !Marked(r, r.present, &f.entry) || r.top_level > f.entry_level)) {
      // No entry point (or a vanished one) while live nodes exist, or a
      // node above it (inserted while pass 2 chose a new entry point): give
      // the index the highest live node as its entry point, and walk again.
      Buffer buf = ReadBuffer(index, kMetaBlock);
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      ItemPointerData current = GetMeta(BufferGetPage(buf))->entry;
      if (ItemPointerEquals(&current, &f.entry)) SetEntry(index, buf, &r.top, r.top_level);
      UnlockReleaseBuffer(buf);
      MemoryContextReset(cxt);
      continue;
    }
    if (r.unreachable == 0 || round == kSweepRounds) break;
    ForEachUnreachable(r, [&](const ItemPointerData* tid) {
      pg::VacuumDelayPoint();
      RelinkNode(index, &f, tid, relink_cxt);
      MemoryContextReset(relink_cxt);
    });
    MemoryContextReset(cxt);
  }
  if (r.unreachable > 0) {
    ereport(LOG, (errmsg("index \"%s\" has %lld live nodes that VACUUM could not link into its graph",
                         RelationGetRelationName(index), static_cast<long long>(r.unreachable))));
  }
  stats->num_index_tuples = static_cast<double>(r.live_nodes);
  stats->num_pages = r.nblocks;
  stats->pages_free = r.pages_without_live;
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  MemoryContextDelete(relink_cxt);
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
  // Wait for the inserts in progress: one may have chosen a node as a
  // neighbour before pass 1 marked it, and will link to it. Once they are
  // done, their nodes are on the pages pass 2 reads, and later inserts see
  // the marks and never link to a marked node (neighbors.h), so no live
  // node links to a removed one after pass 3.
  LockPage(info->index, kInsertLock, ExclusiveLock);
  UnlockPage(info->index, kInsertLock, ExclusiveLock);
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
  Sweep(info, stats);
  return stats;
}

}  // namespace vecann::hnsw
