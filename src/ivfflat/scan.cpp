// ivfflat index scans: ORDER BY <distance operator> answered from the lists
// whose centroids are nearest to the query.
//
// The scan orders the lists by their centroid's distance to the query, reads
// the first ivfflat.probes of them, and returns their rows ordered by key,
// the nearer half first (see NextBatch). When the query wants more rows (a
// LIMIT above that, or a WHERE that rejects rows) it reads the next
// ivfflat.probes lists, and so on up to ivfflat.max_probes lists
// (settings.cpp). A row of a later batch whose key is below one already
// returned is skipped (an approximate search may miss any row, never return
// one out of order), unless ivfflat.iterative_scan = relaxed_order,
// pgvector's meaning, returns it out of order.
// The key is the operator's distance for f32 codes; for f16, bf16 and i8
// codes a lower bound of it that the executor rechecks against the table
// (am::OrderKey), so the rows come out ordered by their true distance and the
// distances a query selects are exact.
// Rows whose vector is NULL (and zero vectors under cosine) are not in the
// index; ORDER BY col <-> NULL (or a zero query under cosine, which has no
// distance to anything) returns every indexed row, in list order.
#include <algorithm>
#include <cmath>

#include "am/routine.h"
#include "ivfflat/ivfflat.h"

extern "C" {
#include "access/relscan.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::ivfflat {
namespace {

struct Row {
  double key;
  ItemPointerData heap_tid;
  bool recheck;
};

struct ScanState {
  MemoryContext cxt;  // reset at every rescan
  IndexFacts facts;
  bool started;
  bool query_is_null;
  float* query;
  double query_norm;
  int* list_order;  // lists by centroid distance, ordered up to lists_read + probes
  float* list_distance;  // per list, the query's distance to its centroid
  int lists_read;
  int lists_limit;  // lists this scan may read
  int probes;       // lists per batch
  Row* rows;
  int rows_capacity;
  int count;
  int pos;
  int returnable;  // rows[pos .. returnable) may be returned before the next batch
  int sorted_end;  // rows[pos .. sorted_end) are in order and precede the others
  double last_key;
  bool relaxed_order;
  BufferAccessStrategy strategy;
};

bool RowLess(const Row& a, const Row& b) {
  return a.key < b.key || (a.key == b.key && ItemPointerCompare(const_cast<ItemPointer>(&a.heap_tid),
                                                                const_cast<ItemPointer>(&b.heap_tid)) < 0);
}

// Puts the smallest mid - begin elements of [begin, end) in order at the
// front: a query needs only the first few of its candidates in order (a
// LIMIT), so the rest is not sorted until it is asked for.
template <typename T, typename Less>
void OrderPrefix(T* begin, T* mid, T* end, Less less) {
  if (mid < end) std::nth_element(begin, mid, end, less);
  std::sort(begin, mid, less);
}

void AddRow(ScanState* st, const Row& row) {
  if (st->count == st->rows_capacity) {
    st->rows_capacity *= 2;
    st->rows = static_cast<Row*>(repalloc_huge(st->rows, sizeof(Row) * st->rows_capacity));
  }
  st->rows[st->count++] = row;
}

// Reads the rows of one list into st->rows (keys computed under the page's
// share lock: a few distances per item, no allocation).
void ReadList(Relation index, ScanState* st, int list) {
  const IndexFacts& f = st->facts;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  BlockNumber cblock = CentroidBlock(f, list);
  if (cblock >= nblocks) ReportCorrupted(index, "metapage", "Centroid page %u lies past the index's end.", cblock);
  Buffer cbuf = ReadBuffer(index, cblock);
  LockBuffer(cbuf, BUFFER_LOCK_SHARE);
  BlockNumber block = CentroidAt(index, f, BufferGetPage(cbuf), cblock, list, &nblocks)->first;
  UnlockReleaseBuffer(cbuf);
  // A list is a chain of distinct pages: more steps than blocks is a cycle.
  for (BlockNumber steps = 0; block != InvalidBlockNumber; ++steps) {
    CHECK_FOR_INTERRUPTS();
    if (steps >= nblocks) ReportCorrupted(index, "list", "List %d's pages form a cycle.", list);
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, st->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int items = CheckListPage(index, f, page, block, &nblocks);
    for (OffsetNumber off = FirstOffsetNumber; off <= items; ++off) {
      const ListTuple* t = RowAt(index, f, page, block, off);
      if (t == nullptr) continue;
      Row row;
      row.heap_tid = t->heap_tid;
      if (st->query_is_null) {
        row.key = 0;
        row.recheck = false;
      } else {
        const float* code = CodeOf(t);
        float d = f.distance(st->query, code, static_cast<size_t>(f.query_words));
        bool reduced = f.storage != kernels::CodeFormat::kF32;
        row.key = am::OrderKey(f, d, reduced ? kernels::CodeError(f.storage, code) : 0.0f,
                               reduced ? kernels::CodeNorm(f.storage, code) : 0.0f, st->query_norm, &row.recheck);
        // NaN sorts after every number, as in ORDER BY.
        if (std::isnan(row.key)) row.key = get_float8_infinity();
        if (row.key < st->last_key && !st->relaxed_order) continue;
      }
      AddRow(st, row);
    }
    block = GetOpaque(page)->next;
    UnlockReleaseBuffer(buf);
  }
}

void StartScan(IndexScanDesc scan, ScanState* st) {
  Relation index = scan->indexRelation;
  IndexFacts& f = st->facts;
  ReadFacts(index, &f);
  st->rows_capacity = 1024;
  st->rows = static_cast<Row*>(palloc(sizeof(Row) * st->rows_capacity));
  st->last_key = -get_float8_infinity();
  st->relaxed_order = RelaxedOrder();
  st->list_order = static_cast<int*>(palloc(sizeof(int) * f.lists));
  for (int j = 0; j < f.lists; ++j) st->list_order[j] = j;
  if (!st->query_is_null) {
    st->query = static_cast<float*>(palloc(WordBytes(f.query_words)));
    st->query_is_null = !am::PrepareQuery(f, scan->orderByData[0].sk_argument, st->query);
  }
  if (st->query_is_null) {
    st->probes = st->lists_limit = f.lists;  // every row, list by list
    return;
  }
  double sum = 0;
  for (int i = 0; i < f.query_words; ++i) sum += static_cast<double>(st->query[i]) * st->query[i];
  st->query_norm = std::sqrt(sum) * (1 + 1e-9);
  float* d = st->list_distance = static_cast<float*>(palloc(sizeof(float) * f.lists));
  CentroidDistances(index, f, st->query, d);
  for (int j = 0; j < f.lists; ++j) {
    if (std::isnan(d[j])) d[j] = get_float4_infinity();
  }
  st->probes = std::min(Probes(), f.lists);
  st->lists_limit = std::min(f.lists, std::max(st->probes, MaxProbes()));
  if (st->probes > f.lists / 4) st->strategy = GetAccessStrategy(BAS_BULKREAD);
}

// Reads the next batch of lists into the rows not yet returned (GetTuple
// orders them as it returns them); false when there is nothing left to return. Unless the order is
// relaxed, only the nearer half of them may be returned before the next
// batch is read (returnable): a list is not a ball around the query, and the
// far members of the lists read so far are often farther than rows of the
// next lists, which would then be below a row already returned and skipped.
// The other half merges with the next batch, so a scan that goes on skips
// few rows; a LIMIT that the nearer half covers never reads another list.
bool NextBatch(IndexScanDesc scan, ScanState* st) {
  int kept = st->count - st->pos;
  memmove(st->rows, st->rows + st->pos, sizeof(Row) * kept);
  st->count = kept;
  st->pos = 0;
  int before = st->count;
  while (st->count == before && st->lists_read < st->lists_limit) {
    int end = std::min(st->lists_limit, st->lists_read + st->probes);
    if (!st->query_is_null) {
      const float* d = st->list_distance;
      OrderPrefix(st->list_order + st->lists_read, st->list_order + end, st->list_order + st->facts.lists,
                  [d](int a, int b) { return d[a] < d[b] || (d[a] == d[b] && a < b); });
    }
    for (; st->lists_read < end; ++st->lists_read) ReadList(scan->indexRelation, st, st->list_order[st->lists_read]);
  }
  st->sorted_end = 0;
  bool more_lists = st->lists_read < st->lists_limit;
  st->returnable = st->relaxed_order || st->query_is_null || !more_lists ? st->count : (st->count + 1) / 2;
  return st->count > 0;
}

}  // namespace

IndexScanDesc BeginScan(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  auto* st = static_cast<ScanState*>(palloc0(sizeof(ScanState)));
  st->cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann ivfflat scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = st;
  am::InitOrderByValues(scan, norderbys);
  return scan;
}

void Rescan(IndexScanDesc scan, ScanKey keys, int, ScanKey orderbys, int) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  if (st->strategy) FreeAccessStrategy(st->strategy);
  MemoryContextReset(st->cxt);
  MemoryContext cxt = st->cxt;
  memset(st, 0, sizeof(*st));
  st->cxt = cxt;
  am::CopyScanKeys(scan, keys, orderbys);
}

bool GetTuple(IndexScanDesc scan, ScanDirection dir) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  if (scan->numberOfOrderBys == 0) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("an ivfflat index can only be scanned with ORDER BY a distance operator")));
  }
  if (!ScanDirectionIsForward(dir)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("ivfflat index scans go forward only")));
  }
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
  MemoryContext old = MemoryContextSwitchTo(st->cxt);
  if (!st->started) {
    st->started = true;
    st->query_is_null = (scan->orderByData[0].sk_flags & SK_ISNULL) != 0;
    StartScan(scan, st);
    pgstat_count_index_scan(scan->indexRelation);
  }
  bool found = st->pos < st->returnable || NextBatch(scan, st);
  if (found && st->pos == st->sorted_end) {
    // Order the next rows: twice as many as so far, at least 16.
    int want = std::min(st->returnable, st->pos + std::max(16, st->sorted_end));
    OrderPrefix(st->rows + st->pos, st->rows + want, st->rows + st->count, RowLess);
    st->sorted_end = want;
  }
  MemoryContextSwitchTo(old);
  if (!found) return false;
  const Row& row = st->rows[st->pos++];
  scan->xs_heaptid = row.heap_tid;
  if (st->query_is_null) {
    scan->xs_orderbynulls[0] = true;
    scan->xs_orderbyvals[0] = 0;
  } else {
    scan->xs_orderbyvals[0] = Float8GetDatum(row.key);
    scan->xs_orderbynulls[0] = false;
    scan->xs_recheckorderby = row.recheck;
    st->last_key = std::max(st->last_key, row.key);
  }
  return true;
}

void EndScan(IndexScanDesc scan) {
  auto* st = static_cast<ScanState*>(scan->opaque);
  if (st->strategy) FreeAccessStrategy(st->strategy);
  MemoryContextDelete(st->cxt);
  pfree(st);
  scan->opaque = nullptr;
}

}  // namespace vecann::ivfflat
