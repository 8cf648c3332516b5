// Index scans: ORDER BY <distance operator> answered from the graph.
//
// Rows come out in batches. The first batch is the classic HNSW answer with
// a candidate list of vecann.ef_search; when the query wants more rows (a
// LIMIT above ef_search, or a WHERE clause that rejects rows), the search goes
// on from where it stopped, one more batch of ef_search at a time, until
// vecann.max_scan_tuples nodes have been visited.
//
// Order guarantee: rows come out in non-decreasing distance. A later batch
// can find a node closer than a row already returned; such a node is skipped
// (as an approximate search may miss any row), never returned out of order.
// Rows whose vector is NULL (and zero vectors under cosine) are not in the
// index, so an index scan never returns them.
#include "hnsw/hnsw.h"
#include "hnsw/search.h"

extern "C" {
#include "access/relscan.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

struct ScanState {
  MemoryContext cxt;  // reset at every rescan
  IndexFacts facts;
  bool started;
  bool done;
  bool query_is_null;  // ORDER BY col <-> NULL: every row ties; return all
  float* query;
  DiskSearch search;
  core::Candidate* batch;
  int batch_size;
  int batch_pos;
  float last_distance;
  int ef;  // vecann.ef_search when the scan started
  // sequential walk for a NULL query
  BlockNumber seq_block;
  OffsetNumber seq_offset;
};

void StartSearch(IndexScanDesc scan, ScanState* st) {
  ReadFacts(scan->indexRelation, &st->facts);
  if (!ItemPointerIsValid(&st->facts.entry)) {
    st->done = true;
    return;
  }
  if (st->query_is_null) {
    st->seq_block = kMetaBlock + 1;
    st->seq_offset = FirstOffsetNumber;
    return;
  }
  st->query = static_cast<float*>(palloc(VectorBytes(st->facts.dims)));
  int query_dims;
  KeyStatus status = PrepareKey(st->facts, scan->orderByData[0].sk_argument, st->query, &query_dims);
  if (status == KeyStatus::kWrongDims) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different %s dimensions %d and %d", KeyTypeName(st->facts.key_type), st->facts.key_dims,
                           query_dims)));
  }
  if (status == KeyStatus::kNotIndexable) {
    // A zero query vector has no cosine distance to anything (NaN): all rows tie.
    st->query_is_null = true;
    st->seq_block = kMetaBlock + 1;
    st->seq_offset = FirstOffsetNumber;
    return;
  }
  SearchInit(&st->search, scan->indexRelation, &st->facts, st->query, false, st->cxt);
  ItemPointerData start = SearchDescend(&st->search, 0);
  if (!ItemPointerIsValid(&start)) {
    st->done = true;  // vacuum emptied the index meanwhile
    return;
  }
  SearchStartLayer(&st->search, 0, &start, 1);
  st->ef = ef_search;
  st->batch = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * st->ef));
  st->last_distance = -get_float4_infinity();
}

// Next row of a NULL-query scan: every live node in physical order.
bool NextSequential(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (; st->seq_block < nblocks; st->seq_block++, st->seq_offset = FirstOffsetNumber) {
    Buffer buf = ReadBuffer(index, st->seq_block);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    for (; st->seq_offset <= max; st->seq_offset++) {
      ItemId lp = PageGetItemId(page, st->seq_offset);
      if (!ItemIdIsNormal(lp)) continue;
      const auto* node = reinterpret_cast<const NodeHeader*>(PageGetItem(page, lp));
      if (node->flags & kNodeDeleted) continue;
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
  // The executor reads the distances of returned rows from these; the AM owns them.
  scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * (norderbys > 0 ? norderbys : 1)));
  scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * (norderbys > 0 ? norderbys : 1)));
  memset(scan->xs_orderbynulls, true, sizeof(bool) * (norderbys > 0 ? norderbys : 1));
  return scan;
}

void Rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  MemoryContextReset(st->cxt);
  MemoryContext cxt = st->cxt;
  memset(st, 0, sizeof(*st));
  st->cxt = cxt;
  if (keys && scan->numberOfKeys > 0) memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0) {
    memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
  }
}

bool GetTuple(IndexScanDesc scan, ScanDirection dir) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  if (scan->numberOfOrderBys == 0) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("an hnsw index can only be scanned with ORDER BY a distance operator")));
  }
  if (!ScanDirectionIsForward(dir)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("hnsw index scans go forward only")));
  }
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
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
    while (st->batch_pos < st->batch_size) {
      core::Candidate c = st->batch[st->batch_pos++];
      const FoundNode& node = st->search.nodes[c.id];
      if (node.deleted || c.distance < st->last_distance) continue;
      st->last_distance = c.distance;
      scan->xs_heaptid = node.heap_tid;
      scan->xs_orderbyvals[0] = Float8GetDatum(OperatorDistance(st->facts.metric, c.distance));
      scan->xs_orderbynulls[0] = false;
      MemoryContextSwitchTo(old);
      return true;
    }
    if (st->batch_size > 0 && st->search.level0_visits >= static_cast<uint64>(max_scan_tuples)) break;
    CHECK_FOR_INTERRUPTS();
    st->batch_size = SearchBatch(&st->search, st->ef, st->batch);
    st->batch_pos = 0;
    if (st->batch_size == 0) break;
  }
  st->done = true;
  MemoryContextSwitchTo(old);
  return false;
}

void EndScan(IndexScanDesc scan) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  MemoryContextDelete(st->cxt);
  pfree(st);
  scan->opaque = nullptr;
}

}  // namespace vecann::hnsw
