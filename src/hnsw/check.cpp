// hnsw_check(index regclass): reads a whole HNSW index and its table and
// reports what it found:
//   - node counts, and how many live nodes a search can reach from the entry
//     point (unreachable nodes are a matter of graph quality: their rows can
//     only be missed by searches, never returned wrongly);
//   - live table rows that have no node at all (rows lost by the index);
//   - structural problems: links to missing nodes, self or duplicate links,
//     links to nodes of a lower level, levels above the entry point's, a bad
//     entry point, malformed node tuples.
#include "hnsw/hnsw.h"
#include "hnsw/tid_set.h"
#include "pg/guard.h"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kMaxReported = 20;

struct CheckNode {
  ItemPointerData tid;
  ItemPointerData heap_tid;
  uint8 level;
  bool deleted;
  ItemPointerData* slots;  // all levels' slots, as on disk
};

struct CheckState {
  IndexFacts facts;
  CheckNode* nodes;
  uint32 count;
  TidSet by_tid;       // index TID -> node number
  TidSet live_rows;    // heap TIDs of live nodes
  ArrayBuildState* problems;
  int64 nproblems;
  int64 heap_rows;
  int64 missing_rows;
  int64 unreachable;
  Relation index;
};

void Problem(CheckState* st, const char* fmt, ...) pg_attribute_printf(2, 3);

void Problem(CheckState* st, const char* fmt, ...) {
  if (st->nproblems++ >= kMaxReported) return;
  char buf[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  st->problems = accumArrayResult(st->problems, CStringGetTextDatum(buf), false, TEXTOID, CurrentMemoryContext);
}

void LoadNodes(CheckState* st) {
  const IndexFacts& f = st->facts;
  BlockNumber nblocks = RelationGetNumberOfBlocks(st->index);
  uint32 capacity = 1024;
  st->nodes = static_cast<CheckNode*>(palloc_extended(sizeof(CheckNode) * capacity, MCXT_ALLOC_HUGE));
  TidSetInit(&st->by_tid, 1024, true, CurrentMemoryContext);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadBuffer(st->index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (GetOpaque(page)->page_type != kPageNodes) {
      Problem(st, "block %u is not a node page", blk);
      UnlockReleaseBuffer(buf);
      continue;
    }
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      ItemId iid = PageGetItemId(page, off);
      if (!ItemIdIsNormal(iid)) continue;
      auto* node = reinterpret_cast<NodeHeader*>(PageGetItem(page, iid));
      if (node->level > f.max_level || ItemIdGetLength(iid) != NodeTupleSize(f.dims, f.m, node->level)) {
        Problem(st, "node (%u,%u) has level %d and size %u, which do not match", blk, off, node->level,
                ItemIdGetLength(iid));
        continue;
      }
      if (st->count == capacity) {
        capacity *= 2;
        st->nodes = static_cast<CheckNode*>(repalloc_huge(st->nodes, sizeof(CheckNode) * capacity));
      }
      CheckNode* n = &st->nodes[st->count];
      ItemPointerSet(&n->tid, blk, off);
      n->heap_tid = node->heap_tid;
      n->level = node->level;
      n->deleted = (node->flags & kNodeDeleted) != 0;
      size_t bytes = sizeof(ItemPointerData) * NodeSlots(f.m, node->level);
      n->slots = static_cast<ItemPointerData*>(palloc(bytes));
      memcpy(n->slots, NodeSlotsPtr(node, f.dims), bytes);
      TidSetAdd(&st->by_tid, &n->tid, st->count);
      ++st->count;
    }
    UnlockReleaseBuffer(buf);
  }
}

void CheckLinks(CheckState* st) {
  const IndexFacts& f = st->facts;
  for (uint32 i = 0; i < st->count; ++i) {
    const CheckNode& n = st->nodes[i];
    for (int l = 0; l <= n.level; ++l) {
      const ItemPointerData* list = n.slots + LevelSlotStart(f.m, l);
      for (int k = 0; k < LevelSlotCount(f.m, l); ++k) {
        if (!ItemPointerIsValid(&list[k])) continue;
        uint32 target;
        if (!TidSetFind(&st->by_tid, &list[k], &target)) {
          Problem(st, "node (%u,%u) links at level %d to missing node (%u,%u)", ItemPointerGetBlockNumber(&n.tid),
                  ItemPointerGetOffsetNumber(&n.tid), l, ItemPointerGetBlockNumberNoCheck(&list[k]),
                  ItemPointerGetOffsetNumberNoCheck(&list[k]));
          continue;
        }
        if (target == i) {
          Problem(st, "node (%u,%u) links to itself at level %d", ItemPointerGetBlockNumber(&n.tid),
                  ItemPointerGetOffsetNumber(&n.tid), l);
        }
        if (st->nodes[target].level < l) {
          Problem(st, "node (%u,%u) links at level %d to node (%u,%u) of level %d", ItemPointerGetBlockNumber(&n.tid),
                  ItemPointerGetOffsetNumber(&n.tid), l, ItemPointerGetBlockNumber(&list[k]),
                  ItemPointerGetOffsetNumber(&list[k]), st->nodes[target].level);
        }
        for (int j = 0; j < k; ++j) {
          if (ItemPointerIsValid(&list[j]) && ItemPointerEquals(const_cast<ItemPointer>(&list[j]), const_cast<ItemPointer>(&list[k]))) {
            Problem(st, "node (%u,%u) links twice to (%u,%u) at level %d", ItemPointerGetBlockNumber(&n.tid),
                    ItemPointerGetOffsetNumber(&n.tid), ItemPointerGetBlockNumber(&list[k]),
                    ItemPointerGetOffsetNumber(&list[k]), l);
          }
        }
      }
    }
    if (n.level > f.entry_level) {
      Problem(st, "node (%u,%u) has level %d, above the entry point's %d", ItemPointerGetBlockNumber(&n.tid),
              ItemPointerGetOffsetNumber(&n.tid), n.level, f.entry_level);
    }
  }
}

// Breadth-first walk from the entry point over the links of every level (a
// search descends through the upper levels, so a node is reachable when some
// path of links at any levels leads to it); returns the nodes reached.
int64 Reach(CheckState* st) {
  const IndexFacts& f = st->facts;
  uint32 entry;
  if (st->count == 0) return 0;
  if (!ItemPointerIsValid(&f.entry) || !TidSetFind(&st->by_tid, &f.entry, &entry)) {
    Problem(st, "the entry point (%u,%u) is not a node of the index", ItemPointerGetBlockNumberNoCheck(&f.entry),
            ItemPointerGetOffsetNumberNoCheck(&f.entry));
    for (uint32 i = 0; i < st->count; ++i) st->unreachable += !st->nodes[i].deleted;
    return 0;
  }
  if (st->nodes[entry].level != f.entry_level) {
    Problem(st, "the entry point has level %d, the metapage says %d", st->nodes[entry].level, f.entry_level);
  }
  bool* seen = static_cast<bool*>(palloc_extended(st->count, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
  uint32* queue = static_cast<uint32*>(palloc_extended(sizeof(uint32) * st->count, MCXT_ALLOC_HUGE));
  uint32 head = 0, tail = 0;
  seen[entry] = true;
  queue[tail++] = entry;
  while (head < tail) {
    const CheckNode& n = st->nodes[queue[head++]];
    for (int k = 0; k < NodeSlots(f.m, n.level); ++k) {
      uint32 target;
      if (ItemPointerIsValid(&n.slots[k]) && TidSetFind(&st->by_tid, &n.slots[k], &target) && !seen[target]) {
        seen[target] = true;
        queue[tail++] = target;
      }
    }
  }
  for (uint32 i = 0; i < st->count; ++i) st->unreachable += !st->nodes[i].deleted && !seen[i];
  return tail;
}

void CollectLiveRows(CheckState* st) {
  TidSetInit(&st->live_rows, st->count, false, CurrentMemoryContext);
  for (uint32 i = 0; i < st->count; ++i) {
    if (!st->nodes[i].deleted) TidSetAdd(&st->live_rows, &st->nodes[i].heap_tid);
  }
}

void HeapRowCallback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool alive, void* arg) {
  auto* st = static_cast<CheckState*>(arg);
  if (!alive || isnull[0]) return;
  float* scratch = static_cast<float*>(palloc(VectorBytes(st->facts.query_words)));
  int key_dims;
  bool indexable = PrepareKey(st->facts, values[0], scratch, &key_dims) == KeyStatus::kOk;
  pfree(scratch);
  if (!indexable) return;
  ++st->heap_rows;
  if (!TidSetFind(&st->live_rows, tid)) {
    if (st->missing_rows++ < 5) {
      Problem(st, "table row (%u,%u) has no node in the index", ItemPointerGetBlockNumber(tid),
              ItemPointerGetOffsetNumber(tid));
    }
  }
}

void CheckHeap(CheckState* st, Relation heap) {
  IndexInfo* info = BuildIndexInfo(st->index);
  info->ii_Concurrent = true;  // rows visible to our snapshot, not every version
  Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
  TableScanDesc scan = table_beginscan_strat(heap, snapshot, 0, nullptr, true, false);
  table_index_build_scan(heap, st->index, info, true, false, HeapRowCallback, st, scan);
  UnregisterSnapshot(snapshot);
}

}  // namespace

}  // namespace vecann::hnsw

// hnsw_check(regclass) -> (nodes, deleted_nodes, reachable_nodes,
//   unreachable_nodes, table_rows, missing_rows, entry_level, problems)
VECANN_FUNCTION(hnsw_check) {
  using namespace vecann::hnsw;
  Oid index_oid = PG_GETARG_OID(0);
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) elog(ERROR, "return type must be a row type");

  Oid heap_oid = IndexGetRelation(index_oid, true);
  if (!OidIsValid(heap_oid)) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(index_oid))));
  }
  Relation heap = table_open(heap_oid, AccessShareLock);
  Relation index = index_open(index_oid, AccessShareLock);
  if (index->rd_indam->amgettuple != GetTuple) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
  }
  CheckState st;
  memset(&st, 0, sizeof(st));
  st.index = index;
  ReadFacts(index, &st.facts);
  LoadNodes(&st);
  CheckLinks(&st);
  int64 reachable = Reach(&st);
  CollectLiveRows(&st);
  CheckHeap(&st, heap);
  int64 deleted = 0;
  for (uint32 i = 0; i < st.count; ++i) deleted += st.nodes[i].deleted;
  if (st.nproblems > kMaxReported) {
    char buf[64];
    snprintf(buf, sizeof buf, "... and %lld more", static_cast<long long>(st.nproblems - kMaxReported));
    st.problems = accumArrayResult(st.problems, CStringGetTextDatum(buf), false, TEXTOID, CurrentMemoryContext);
  }
  index_close(index, AccessShareLock);
  table_close(heap, AccessShareLock);

  Datum values[8];
  bool nulls[8] = {false, false, false, false, false, false, false, false};
  values[0] = Int64GetDatum(st.count);
  values[1] = Int64GetDatum(deleted);
  values[2] = Int64GetDatum(reachable);
  values[3] = Int64GetDatum(st.unreachable);
  values[4] = Int64GetDatum(st.heap_rows);
  values[5] = Int64GetDatum(st.missing_rows);
  values[6] = Int32GetDatum(st.facts.entry_level);
  values[7] = st.problems ? makeArrayResult(st.problems, CurrentMemoryContext)
                          : PointerGetDatum(construct_empty_array(TEXTOID));
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
