// Index scans: ORDER BY <distance operator> answered from the graph.
//
// Rows come out in batches. The first batch is the classic HNSW answer with
// a candidate list of vecann.ef_search; when the query wants more rows (a
// LIMIT above ef_search, or a WHERE clause that rejects rows), the search goes
// on from where it stopped, one more batch of ef_search at a time, until
// vecann.max_scan_tuples nodes have been visited (or its memory bound, see
// VisitLimit); then the sweep (SweepPass) reads the rest of the index in key
// order, so a scan never ends while the index holds rows it has not offered.
// Deleted nodes are passed through but never returned (DiskSearch.live_only).
//
// Each batch is ordered by a key and returned in that order; a row whose key
// is below one already returned (a later batch can find a closer node) is
// skipped, as an approximate search may miss any row, never returned out of
// order (under hnsw.iterative_scan = relaxed_order, pgvector's meaning, it is
// returned, out of order). The key depends on how the index stores vectors:
//   f32        the exact distance (the code is the vector); where the float32
//              sum overflowed, a lower bound the executor rechecks (RowKey).
//   f16, bf16, a lower bound of the true distance, from the distance to the
//   i8         code's reconstruction, the reconstruction error kept in the
//              code and a margin for float rounding (am::OrderKey); the
//              scan sets xs_recheckorderby, so the executor computes each
//              row's true distance from the table and returns rows in true
//              order (its reorder queue holds a row until no later index
//              row can be closer). The bounds are tight (the errors are
//              small), so the executor reads few rows beyond those returned.
//   bit        the true distance, read here: one bit per dimension bounds
//              distances too loosely for the executor's recheck, so each
//              batch takes max(ef_search, vecann.rerank_candidates)
//              candidates by their code distance, fetches their rows from
//              the table (under the scan's snapshot; invisible rows are
//              dropped, as the executor would drop them), evaluates the
//              index column or expression and the ORDER BY operator on
//              them, and orders the batch by that. Half a batch of rows is
//              held back and merged with the next batch before it is
//              returned, as code distances order candidates only roughly
//              (half a batch more after each batch, for scans that go on).
// Either way (relaxed_order apart) the rows a query returns come out ordered
// by the true distance of the full-precision value, and the distances it
// selects are computed by the executor from the table, so they are exact.
// Rows whose vector is NULL (and zero vectors under cosine) are not in the
// index, so an index scan never returns them.
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "am/routine.h"
#include "hnsw/hnsw.h"
#include "hnsw/pages.h"
#include "hnsw/search.h"
#include "hnsw/tid_set.h"
#include "kernels/lower_bound.h"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "utils/guc.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

// What a batch is ordered by (see the file comment).
enum class Ordering { kExact, kLowerBound, kRerank };

// A row of the current batch and its key.
struct BatchRow {
  double key;
  ItemPointerData heap_tid;
  ItemPointerData node_tid;
  uint32 rank;  // position by code distance (the sweep: by node), to break ties
  bool recheck;  // the key is only a lower bound (always so for kLowerBound)
};

// Reads rows' full-precision keys from the table for Ordering::kRerank.
struct RowFetcher {
  IndexFetchTableData* fetch;
  TupleTableSlot* slot;
  EState* estate;        // for an expression index
  IndexInfo* index_info;
  AttrNumber attno;      // the indexed column, 0 for an expression
  MemoryContext row_cxt;  // reset after each row
};

struct ScanState {
  MemoryContext cxt;  // reset at every rescan
  IndexFacts facts;
  bool started;
  bool done;
  bool query_is_null;  // ORDER BY col <-> NULL: every row ties; return all
  float* query;
  double query_norm;  // ||query||, for inner-product bounds
  Ordering ordering;
  RowFetcher* rows;   // Ordering::kRerank only
  DiskSearch search;
  core::Candidate* batch;
  BatchRow* batch_rows;
  int batch_size;
  int batch_pos;
  int batches;     // batches searched so far
  // Rows held back before the next batch is searched (Ordering::kRerank):
  // their true distances are only known once read, so a later batch can hold
  // rows closer than these; keeping a reserve lets them merge in, in order.
  int hold_back;
  int rows_capacity;  // entries allocated in batch_rows
  bool relaxed_order;  // hnsw.iterative_scan = relaxed_order: late rows are returned, not dropped
  double last_key;
  TidSet last_key_nodes;  // the nodes returned with key last_key
  int ef;  // candidates per batch
  // The sweep (see SweepPass): after the graph search, the rest of the index
  // in key order, up to sweep_limit rows per pass over it.
  bool sweeping;
  bool sweep_done;  // the last pass found all rows that were left
  int sweep_limit;
  BufferAccessStrategy sweep_strategy;
  BlockNumber heap_blocks;  // the table's size as last read, for CheckRow
  // sequential walk for a NULL query
  BlockNumber seq_block;
  OffsetNumber seq_offset;
};

void StartRowFetcher(IndexScanDesc scan, ScanState* st) {
  auto* r = static_cast<RowFetcher*>(palloc0(sizeof(RowFetcher)));
  r->fetch = table_index_fetch_begin(scan->heapRelation);
  r->slot = table_slot_create(scan->heapRelation, nullptr);
  r->index_info = BuildIndexInfo(scan->indexRelation);
  r->attno = r->index_info->ii_IndexAttrNumbers[0];
  if (r->attno == 0) r->estate = CreateExecutorState();
  r->row_cxt = AllocSetContextCreate(st->cxt, "vecann hnsw rerank row", ALLOCSET_SMALL_SIZES);
  st->rows = r;
}

// Releases the heap fetch's buffer pins and the expression state.
void EndRowFetcher(ScanState* st) {
  RowFetcher* r = st->rows;
  if (r == nullptr) return;
  ExecDropSingleTupleTableSlot(r->slot);
  table_index_fetch_end(r->fetch);
  if (r->estate) FreeExecutorState(r->estate);
  st->rows = nullptr;
}

// The true distance of the row at heap_tid, by the ORDER BY operator itself;
// false when the row is not visible to the scan's snapshot.
bool TrueDistance(IndexScanDesc scan, ScanState* st, ItemPointer heap_tid, double* out) {
  RowFetcher* r = st->rows;
  bool call_again = false, all_dead = false;
  if (!table_index_fetch_tuple(r->fetch, heap_tid, scan->xs_snapshot, r->slot, &call_again, &all_dead)) {
    return false;
  }
  MemoryContext old = MemoryContextSwitchTo(r->row_cxt);
  bool isnull = false;
  Datum key;
  if (r->attno != 0) {
    key = slot_getattr(r->slot, r->attno, &isnull);
  } else {
    // The index's expression is the table owner's code: evaluate it as the
    // owner in a security-restricted operation (as ANALYZE and amcheck do),
    // so that querying someone else's table cannot run their code with the
    // querying role's privileges.
    Datum values[INDEX_MAX_KEYS];
    bool nulls[INDEX_MAX_KEYS];
    Oid save_userid;
    int save_sec_context;
    GetUserIdAndSecContext(&save_userid, &save_sec_context);
    SetUserIdAndSecContext(scan->heapRelation->rd_rel->relowner, save_sec_context | SECURITY_RESTRICTED_OPERATION);
    int save_nestlevel = NewGUCNestLevel();
    GetPerTupleExprContext(r->estate)->ecxt_scantuple = r->slot;
    FormIndexDatum(r->index_info, r->slot, r->estate, values, nulls);
    AtEOXact_GUC(false, save_nestlevel);
    SetUserIdAndSecContext(save_userid, save_sec_context);
    key = values[0];
    isnull = nulls[0];
  }
  bool ok = !isnull;
  if (ok) {
    const ScanKeyData& ob = scan->orderByData[0];
    *out = DatumGetFloat8(FunctionCall2Coll(const_cast<FmgrInfo*>(&ob.sk_func), ob.sk_collation, key, ob.sk_argument));
  }
  MemoryContextSwitchTo(old);
  if (r->estate) ResetPerTupleExprContext(r->estate);
  MemoryContextReset(r->row_cxt);
  return ok;
}

void CheckRowInTable(IndexScanDesc scan, ScanState* st, const ItemPointerData* heap_tid);

// The key a row is ordered by (see Ordering), from its code's internal
// distance, error and norm; false when the row is not visible (kRerank).
bool RowKey(IndexScanDesc scan, ScanState* st, float distance, float error, float code_norm, BatchRow* row) {
  switch (st->ordering) {
    case Ordering::kExact:
    case Ordering::kLowerBound:
      row->key = am::OrderKey(st->facts, distance, error, code_norm, st->query_norm, &row->recheck);
      return true;
    case Ordering::kRerank:
      row->recheck = false;
      // The row is read from the table: its TID must lie inside it.
      CheckRowInTable(scan, st, &row->heap_tid);
      if (!TrueDistance(scan, st, &row->heap_tid, &row->key)) return false;
      // NaN sorts after every number, as in ORDER BY (and keys stay totally ordered).
      if (std::isnan(row->key)) row->key = get_float8_infinity();
      return true;
  }
  return false;
}

// Adds the `found` candidates of a new batch (st->batch) to the rows not yet
// returned, keeping them ordered by key; rows whose key is below one already
// returned are dropped, unless the order is relaxed.
void AddBatch(IndexScanDesc scan, ScanState* st, int found) {
  int n = st->batch_size - st->batch_pos;
  memmove(st->batch_rows, st->batch_rows + st->batch_pos, sizeof(BatchRow) * n);
  if (n + found > st->rows_capacity) {
    st->rows_capacity = 2 * (n + found);
    st->batch_rows = static_cast<BatchRow*>(repalloc_huge(st->batch_rows, sizeof(BatchRow) * st->rows_capacity));
  }
  for (int i = 0; i < found; ++i) {
    const core::Candidate& c = st->batch[i];
    const FoundNode& node = st->search.nodes[c.id];
    if (node.deleted) continue;
    BatchRow row;
    row.heap_tid = node.heap_tid;
    row.node_tid = node.tid;
    row.rank = static_cast<uint32>(st->batches) * static_cast<uint32>(st->ef) + static_cast<uint32>(i);
    if (!RowKey(scan, st, c.distance, node.error, node.norm, &row)) continue;
    if (row.key < st->last_key && !st->relaxed_order) continue;
    st->batch_rows[n++] = row;
  }
  std::sort(st->batch_rows, st->batch_rows + n, [](const BatchRow& a, const BatchRow& b) {
    return a.key < b.key || (a.key == b.key && a.rank < b.rank);
  });
  st->batch_size = n;
  st->batch_pos = 0;
}

void StartSweep(ScanState* st);

// The graph search is over. The sweep returns every row above the last key
// returned, held-back rows included; with a relaxed order the held-back rows
// are returned first, as they may lie below it.
void EndGraphSearch(ScanState* st) {
  if (st->relaxed_order && st->batch_size > st->batch_pos) {
    st->hold_back = 0;
  } else {
    StartSweep(st);
  }
}

// What one visited node costs a scan's graph search in memory: its entry in
// the found-node table and its share of the visited set and heaps (links are
// read when a node is expanded, not kept per visit).
constexpr size_t kBytesPerVisit = sizeof(FoundNode) + 6 * sizeof(uint64);

// The most nodes (counting the descent) the graph search may have visited
// before the scan turns to the sweep: within max(hnsw.scan_mem_multiplier *
// work_mem, 8 MB) of memory, whatever vecann.max_scan_tuples says; past the
// first batch also within vecann.max_scan_tuples visits at level 0.
uint32 VisitLimit(const ScanState* st, bool past_first_batch) {
  const DiskSearch& s = st->search;
  double memory = std::max(ScanMemMultiplier() * work_mem * 1024.0, 8.0 * 1024 * 1024);
  uint64 visits = static_cast<uint64>(std::min(memory / kBytesPerVisit, 1e18));
  if (past_first_batch) visits = std::min<uint64>(visits, static_cast<uint64>(MaxScanTuples()));
  uint64 limit = s.nnodes - s.level0_visits + visits;
  return static_cast<uint32>(std::min<uint64>(limit, UINT32_MAX - 1));
}

void StartSearch(IndexScanDesc scan, ScanState* st) {
  ReadFacts(scan->indexRelation, &st->facts);
  if (st->query_is_null) {
    st->seq_block = kMetaBlock + 1;
    st->seq_offset = FirstOffsetNumber;
    return;
  }
  st->query = static_cast<float*>(palloc(WordBytes(st->facts.query_words)));
  if (!PrepareQuery(st->facts, scan->orderByData[0].sk_argument, st->query)) {
    // A zero query vector has no cosine distance to anything (NaN): all rows tie.
    st->query_is_null = true;
    st->seq_block = kMetaBlock + 1;
    st->seq_offset = FirstOffsetNumber;
    return;
  }
  st->ef = EfSearch();
  st->ordering = Ordering::kExact;
  // A bit index scanned without a table (no heapRelation) falls back to its
  // (valid but loose) lower bounds.
  if (st->facts.storage == kernels::CodeFormat::kBit && scan->heapRelation != nullptr) {
    st->ordering = Ordering::kRerank;
    st->ef = std::max(st->ef, rerank_candidates);
    st->hold_back = st->ef / 2;
    StartRowFetcher(scan, st);
  } else if (st->facts.storage != kernels::CodeFormat::kF32) {
    st->ordering = Ordering::kLowerBound;
  }
  double sum = 0;
  for (int i = 0; i < st->facts.query_words; ++i) sum += static_cast<double>(st->query[i]) * st->query[i];
  st->query_norm = std::sqrt(sum) * (1 + 1e-9);
  st->batch = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * st->ef));
  st->rows_capacity = st->ef + st->hold_back;
  st->batch_rows = static_cast<BatchRow*>(palloc(sizeof(BatchRow) * st->rows_capacity));
  st->relaxed_order = RelaxedOrder();
  st->last_key = -get_float8_infinity();
  TidSetInit(&st->last_key_nodes, 16, false, st->cxt);
  st->sweep_limit = static_cast<int>(std::min<size_t>(
      std::max<size_t>(1024, static_cast<size_t>(work_mem) * 1024 / sizeof(BatchRow)), MaxAllocSize / sizeof(BatchRow)));

  // No entry point: the index is empty, or VACUUM found no live node while
  // rows were being inserted (until the next insert or VACUUM gives it one).
  // Either way the sweep finds every row there is.
  if (!ItemPointerIsValid(&st->facts.entry)) {
    StartSweep(st);
    return;
  }
  SearchInit(&st->search, scan->indexRelation, &st->facts, st->query, false, st->cxt);
  st->search.live_only = true;  // rows of deleted nodes are never returned
  ItemPointerData starts[core::kDescentBeam];
  int nstarts = SearchDescend(&st->search, 0, starts);
  if (nstarts == 0) {
    StartSweep(st);  // vacuum emptied the index meanwhile
    return;
  }
  SearchStartLayer(&st->search, 0, starts, nstarts);
  st->search.visit_limit = VisitLimit(st, false);
}

// The sweep. The graph search ends when it has visited
// vecann.max_scan_tuples nodes or when no more nodes are reachable; a query
// that still wants rows (a large LIMIT, a WHERE that rejects most rows) then
// gets the rest of the index in key order, so an index scan never returns
// fewer rows than the index holds: each pass reads every node, keeps the
// sweep_limit (work_mem) rows of smallest (key, node) above the last row
// returned (rows below it are skipped, as an approximate search may miss
// them), and returns them in order; a pass that finds fewer is the last.
// The planner knows this costs about a sequential read of the index (cost.cpp).
void StartSweep(ScanState* st) {
  st->sweeping = true;
  st->batch_size = st->batch_pos = 0;
  st->sweep_strategy = GetAccessStrategy(BAS_BULKREAD);
  if (st->rows_capacity < st->sweep_limit) {
    st->rows_capacity = st->sweep_limit;
    st->batch_rows = static_cast<BatchRow*>(repalloc_huge(st->batch_rows, sizeof(BatchRow) * st->rows_capacity));
  }
}

bool SweepLess(const BatchRow& a, const BatchRow& b) {
  return a.key < b.key || (a.key == b.key && ItemPointerCompare(const_cast<ItemPointer>(&a.node_tid),
                                                                const_cast<ItemPointer>(&b.node_tid)) < 0);
}

// A live node copied off its page, for the key computed after the page's lock is released.
struct SweptNode {
  ItemPointerData tid;
  ItemPointerData heap_tid;
  float distance, error, norm;
};

void SweepPass(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  const IndexFacts& f = st->facts;
  auto* page_nodes = static_cast<SweptNode*>(palloc(sizeof(SweptNode) * MaxOffsetNumber));
  BatchRow* heap = st->batch_rows;
  int n = 0;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadNodeBuffer(index, blk, st->sweep_strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int count = 0;
    OffsetNumber max = CheckNodePage(index, page, blk) ? PageGetMaxOffsetNumber(page) : 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
      const NodeHeader* node = NodeAt(index, f, page, blk, off);
      if (!node || (node->flags & kNodeDeleted)) continue;
      SweptNode& s = page_nodes[count++];
      ItemPointerSet(&s.tid, blk, off);
      CheckHeapTid(index, node, &s.tid);
      s.heap_tid = node->heap_tid;
      const float* code = NodeCode(node);
      s.distance = f.distance(st->query, code, static_cast<size_t>(f.query_words));
      s.error = f.decode ? kernels::CodeError(f.storage, code) : 0.0f;
      s.norm = f.decode ? kernels::CodeNorm(f.storage, code) : 0.0f;
    }
    UnlockReleaseBuffer(buf);
    for (int i = 0; i < count; ++i) {
      BatchRow row;
      row.heap_tid = page_nodes[i].heap_tid;
      row.node_tid = page_nodes[i].tid;
      row.rank = 0;
      if (!RowKey(scan, st, page_nodes[i].distance, page_nodes[i].error, page_nodes[i].norm, &row)) continue;
      if (row.key < st->last_key || (row.key == st->last_key && TidSetFind(&st->last_key_nodes, &row.node_tid))) {
        continue;
      }
      // Keep the sweep_limit smallest rows in a max-heap.
      if (n < st->sweep_limit) {
        heap[n++] = row;
        std::push_heap(heap, heap + n, SweepLess);
      } else if (SweepLess(row, heap[0])) {
        std::pop_heap(heap, heap + n, SweepLess);
        heap[n - 1] = row;
        std::push_heap(heap, heap + n, SweepLess);
      }
    }
  }
  pfree(page_nodes);
  std::sort_heap(heap, heap + n, SweepLess);
  st->batch_size = n;
  st->batch_pos = 0;
  st->sweep_done = n < st->sweep_limit;
}

// Errors unless a row's heap TID lies inside the table (a corrupt node could
// name any block; reading past the table's end is no answer).
void CheckRowInTable(IndexScanDesc scan, ScanState* st, const ItemPointerData* heap_tid) {
  if (scan->heapRelation == nullptr) return;
  BlockNumber blk = ItemPointerGetBlockNumberNoCheck(heap_tid);
  if (blk < st->heap_blocks) return;
  st->heap_blocks = RelationGetNumberOfBlocks(scan->heapRelation);
  if (blk >= st->heap_blocks) {
    ReportCorrupted(scan->indexRelation, "node", "A node names table row (%u,%u); the table has %u blocks.", blk,
                    ItemPointerGetOffsetNumberNoCheck(heap_tid), st->heap_blocks);
  }
}

// Hands the next row of the batch to the executor.
void ReturnRow(IndexScanDesc scan, ScanState* st) {
  const BatchRow& row = st->batch_rows[st->batch_pos++];
  CheckRowInTable(scan, st, &row.heap_tid);
  // last_key is the largest key returned (with a relaxed order a row may come
  // below it), last_key_nodes the nodes returned with that key.
  if (row.key > st->last_key && st->last_key_nodes.count > 0) {
    if (st->last_key_nodes.capacity > 4096) {
      TidSetInit(&st->last_key_nodes, 16, false, st->cxt);
    } else {
      TidSetClear(&st->last_key_nodes);
    }
  }
  if (row.key >= st->last_key) {
    st->last_key = row.key;
    TidSetAdd(&st->last_key_nodes, &row.node_tid);
  }
  scan->xs_heaptid = row.heap_tid;
  scan->xs_orderbyvals[0] = Float8GetDatum(row.key);
  scan->xs_orderbynulls[0] = false;
  scan->xs_recheckorderby = row.recheck;
}

// Next row of a NULL-query scan: every live node in physical order.
bool NextSequential(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (; st->seq_block < nblocks; st->seq_block++, st->seq_offset = FirstOffsetNumber) {
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadNodeBuffer(index, st->seq_block);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    OffsetNumber max = CheckNodePage(index, page, st->seq_block) ? PageGetMaxOffsetNumber(page) : 0;
    for (; st->seq_offset <= max; st->seq_offset++) {
      const NodeHeader* node = NodeAt(index, st->facts, page, st->seq_block, st->seq_offset);
      if (!node || (node->flags & kNodeDeleted)) continue;
      ItemPointerData tid;
      ItemPointerSet(&tid, st->seq_block, st->seq_offset);
      CheckHeapTid(index, node, &tid);
      CheckRowInTable(scan, st, &node->heap_tid);
      scan->xs_heaptid = node->heap_tid;
      st->seq_offset++;
      UnlockReleaseBuffer(buf);
      scan->xs_orderbyvals[0] = (Datum)0;
      scan->xs_orderbynulls[0] = true;
      return true;
    }
    UnlockReleaseBuffer(buf);
  }
  return false;
}

}  // namespace

IndexScanDesc BeginScan(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  auto* st = static_cast<ScanState*>(palloc0(sizeof(ScanState)));
  st->cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = st;
  am::InitOrderByValues(scan, norderbys);
  return scan;
}

void Rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  EndRowFetcher(st);
  MemoryContextReset(st->cxt);
  MemoryContext cxt = st->cxt;
  memset(st, 0, sizeof(*st));
  st->cxt = cxt;
  am::CopyScanKeys(scan, keys, orderbys);
}

bool GetTuple(IndexScanDesc scan, ScanDirection dir) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  am::BeginGetTuple(scan, dir, "hnsw");
  if (st->done) return false;

  MemoryContext old = MemoryContextSwitchTo(st->cxt);
  if (!st->started) {
    st->started = true;
    st->query_is_null = (scan->orderByData[0].sk_flags & SK_ISNULL) != 0;
    StartSearch(scan, st);
    if (st->done) {
      MemoryContextSwitchTo(old);
      return false;
    }
    pgstat_count_index_scan(scan->indexRelation);
  }
  if (st->query_is_null) {
    bool found = NextSequential(scan, st);
    MemoryContextSwitchTo(old);
    st->done = !found;
    return found;
  }

  for (;;) {
    int pending = st->batch_size - st->batch_pos;
    if (pending > 0 && (st->sweeping || pending > st->hold_back)) {
      ReturnRow(scan, st);
      MemoryContextSwitchTo(old);
      return true;
    }
    if (st->sweeping) {
      if (st->sweep_done) break;
      SweepPass(scan, st);
      continue;
    }
    if (st->batches > 0 && SearchStopped(&st->search)) {
      EndGraphSearch(st);
      continue;
    }
    CHECK_FOR_INTERRUPTS();
    int found = SearchBatch(&st->search, st->ef, st->batch);
    if (found == 0) {  // nothing more is reachable
      EndGraphSearch(st);
      continue;
    }
    AddBatch(scan, st, found);
    if (st->batches++ == 0) st->search.visit_limit = VisitLimit(st, true);
    // A rerank scan holds back half a batch more after each batch. Other
    // scans hold nothing back: reserves that grew with the rows found too
    // late, or with every batch, kept more rows on pathological data (2,000
    // points on a curve, ef_search 10, LIMIT 1,900: 1,789 or 1,878 rows on
    // average instead of 1,635) but cost filtered queries on 300,000
    // clustered rows 17-34% or half of their speed for no row and at most
    // 0.007 recall more (bench/RESULTS.md); relaxed_order returns every row.
    if (st->ordering == Ordering::kRerank) st->hold_back += st->ef / 2;
  }
  st->done = true;
  MemoryContextSwitchTo(old);
  return false;
}

void EndScan(IndexScanDesc scan) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  EndRowFetcher(st);
  MemoryContextDelete(st->cxt);
  pfree(st);
  scan->opaque = nullptr;
}

}  // namespace vecann::hnsw
