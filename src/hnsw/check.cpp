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
#include "hnsw/pages.h"
#include "hnsw/reach.h"
#include "hnsw/tid_set.h"
#include "pg/guard.h"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/guc.h"
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
  bool malformed;  // a page or node tuple is not what it must be
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
    PageKind kind = NodePageKind(page);
    if (kind != PageKind::kNodes) {
      if (kind == PageKind::kCorrupt) {
        Problem(st, "block %u is not a node page", blk);
        st->malformed = true;
      }
      UnlockReleaseBuffer(buf);
      continue;
    }
    for (OffsetNumber off = FirstOffsetNumber; off <= PageGetMaxOffsetNumber(page); ++off) {
      NodeHeader* node = nullptr;
      NodeStatus status = NodeAtStatus(f, page, off, &node);
      if (status == NodeStatus::kUnused) continue;
      if (status == NodeStatus::kCorrupt) {
        ItemId iid = PageGetItemId(page, off);
        Problem(st, "item (%u,%u) of offset %u and size %u is not a node of this index", blk, off,
                ItemIdGetOffset(iid), ItemIdGetLength(iid));
        st->malformed = true;
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
      memcpy(n->slots, NodeSlotsPtr(node, f.code_words), bytes);
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
    // A deleted node is only a waypoint until VACUUM removes it: its links
    // may lead to nodes an interrupted VACUUM removed already.
    for (int l = 0; !n.deleted && l <= n.level; ++l) {
      const ItemPointerData* list = n.slots + LevelSlotStart(f.m, l);
      for (int k = 0; k < core::MaxLinks(f.m, l); ++k) {
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
    if (!n.deleted && n.level > f.entry_level) {
      Problem(st, "node (%u,%u) has level %d, above the entry point's %d", ItemPointerGetBlockNumber(&n.tid),
              ItemPointerGetOffsetNumber(&n.tid), n.level, f.entry_level);
    }
  }
}

// The entry point's level must be the one the metapage gives.
void CheckEntryLevel(CheckState* st) {
  uint32 entry;
  if (ItemPointerIsValid(&st->facts.entry) && TidSetFind(&st->by_tid, &st->facts.entry, &entry) &&
      st->nodes[entry].level != st->facts.entry_level) {
    Problem(st, "the entry point has level %d, the metapage says %d", st->nodes[entry].level, st->facts.entry_level);
  }
}

// The table rows live nodes name; two live nodes naming one row is a
// problem (a node VACUUM failed to remove would name whatever row later
// takes its line pointer).
void CollectLiveRows(CheckState* st) {
  TidSetInit(&st->live_rows, st->count, false, CurrentMemoryContext);
  for (uint32 i = 0; i < st->count; ++i) {
    const CheckNode& n = st->nodes[i];
    if (!n.deleted && !TidSetAdd(&st->live_rows, &n.heap_tid)) {
      Problem(st, "node (%u,%u) names table row (%u,%u), as another live node does", ItemPointerGetBlockNumber(&n.tid),
              ItemPointerGetOffsetNumber(&n.tid), ItemPointerGetBlockNumberNoCheck(&n.heap_tid),
              ItemPointerGetOffsetNumberNoCheck(&n.heap_tid));
    }
  }
}

void HeapRowCallback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool alive, void* arg) {
  auto* st = static_cast<CheckState*>(arg);
  if (!alive || isnull[0]) return;
  float* scratch = static_cast<float*>(palloc(WordBytes(st->facts.query_words)));
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

// Rows visible to `snapshot` (taken before the index was read, so rows
// committed meanwhile are not mistaken for rows the index lost).
void CheckHeap(CheckState* st, Relation heap, Snapshot snapshot) {
  IndexInfo* info = BuildIndexInfo(st->index);
  info->ii_Concurrent = true;  // rows visible to our snapshot, not every version
  TableScanDesc scan = table_beginscan_strat(heap, snapshot, 0, nullptr, true, false);
  table_index_build_scan(heap, st->index, info, true, false, HeapRowCallback, st, scan);
}

// Who may check an index: its table's owner, or a member of
// pg_stat_scan_tables (which may lock any table to read statistics), besides
// superusers; the function is also revoked from PUBLIC. The check only
// reports counts and item positions, never table data.
void CheckPermission(Oid heap_oid, Oid index_oid) {
  if (pg::OwnsRelation(heap_oid, GetUserId()) || has_privs_of_role(GetUserId(), ROLE_PG_STAT_SCAN_TABLES)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("permission denied to check index \"%s\"", get_rel_name(index_oid)),
                  errdetail("Only the owner of its table, or a member of pg_stat_scan_tables, may check it.")));
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

  // Permission before any lock (no role may block another's table), then the
  // table before its index, as everywhere; then make sure the index still
  // belongs to that table.
  Oid heap_oid = IndexGetRelation(index_oid, true);
  if (!OidIsValid(heap_oid)) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(index_oid))));
  }
  if (get_rel_relkind(index_oid) != RELKIND_INDEX) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is a partitioned index", get_rel_name(index_oid)),
                    errhint("Check the index of each partition.")));
  }
  CheckPermission(heap_oid, index_oid);
  Relation heap = table_open(heap_oid, AccessShareLock);
  Relation index = index_open(index_oid, AccessShareLock);
  if (IndexGetRelation(index_oid, false) != heap_oid) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("could not open parent table of index \"%s\"",
                                                             RelationGetRelationName(index))));
  }
  if (index->rd_indam->amgettuple != GetTuple) {
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not an hnsw index", RelationGetRelationName(index))));
  }
  // An index that failed to build (CREATE INDEX CONCURRENTLY) may hold no
  // pages at all.
  if (!index->rd_index->indisvalid) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("cannot check index \"%s\"", RelationGetRelationName(index)),
                    errdetail("Index is not valid."), errhint("REINDEX or drop it.")));
  }

  // Reading the table evaluates the index's expressions and predicate: do it
  // as the table's owner, in a security-restricted operation with its own GUC
  // nest level, as amcheck does (CVE-2022-1552), so that a function in an
  // index cannot act with the caller's privileges.
  Oid save_userid;
  int save_sec_context;
  GetUserIdAndSecContext(&save_userid, &save_sec_context);
  SetUserIdAndSecContext(heap->rd_rel->relowner, save_sec_context | SECURITY_RESTRICTED_OPERATION);
  int save_nestlevel = NewGUCNestLevel();
  vecann::pg::RestrictSearchPathForMaintenance();

  Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
  CheckState st;
  memset(&st, 0, sizeof(st));
  st.index = index;
  ReadFacts(index, &st.facts);
  LoadNodes(&st);
  CheckLinks(&st);
  bool reach_known = !st.malformed;
  Reachability reach;
  if (reach_known) {
    FindReachable(index, st.facts, nullptr, &reach);
    st.unreachable = reach.unreachable;
    if (st.count > 0 && !Marked(reach, reach.present, &st.facts.entry)) {
      Problem(&st, "the entry point (%u,%u) is not a node of the index", ItemPointerGetBlockNumberNoCheck(&st.facts.entry),
              ItemPointerGetOffsetNumberNoCheck(&st.facts.entry));
    }
  } else {
    Problem(&st, "reachability not computed: the index has malformed pages or nodes");
  }
  CheckEntryLevel(&st);
  CollectLiveRows(&st);
  CheckHeap(&st, heap, snapshot);
  UnregisterSnapshot(snapshot);

  AtEOXact_GUC(false, save_nestlevel);
  SetUserIdAndSecContext(save_userid, save_sec_context);

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
  bool nulls[8] = {false, false, !reach_known, !reach_known, false, false, false, false};
  values[0] = Int64GetDatum(st.count);
  values[1] = Int64GetDatum(deleted);
  values[2] = Int64GetDatum(reach_known ? reach.reached_live : 0);
  values[3] = Int64GetDatum(st.unreachable);
  values[4] = Int64GetDatum(st.heap_rows);
  values[5] = Int64GetDatum(st.missing_rows);
  values[6] = Int32GetDatum(st.facts.entry_level);
  values[7] = st.problems ? makeArrayResult(st.problems, CurrentMemoryContext)
                          : PointerGetDatum(construct_empty_array(TEXTOID));
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
