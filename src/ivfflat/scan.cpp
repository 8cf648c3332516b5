// ivfflat index scans: ORDER BY <distance operator> answered from the lists
// whose centroids are nearest to the query.
//
// The scan orders the lists by their centroid's distance to the query, reads
// the first ivfflat.probes of them, and returns their rows ordered by key,
// the nearer half first. When the query wants more rows (a LIMIT above
// that, or a WHERE that rejects rows) it reads more lists, ivfflat.probes at
// a time, up to ivfflat.max_probes lists (settings.cpp), and returns their
// rows in order as soon as no unread list can hold a closer one (a bound
// from the centroid distances, ListBound; see NextBatch). A row closer than
// one the first lists returned is skipped (an approximate search may miss
// any row, never return one out of order), unless ivfflat.iterative_scan =
// relaxed_order, pgvector's meaning, returns it out of order.
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
  bool first_batch_done;
  // A lower bound of the true distance of every row in the lists not read
  // yet (ListBound); -inf before the first batch and where none is known.
  bool bounded;  // the metric gives bounds (not inner product)
  double bound;
  int max_rows;  // rows a scan holds before it gives up waiting for the bound
  uint8* visited;  // bitmap of list pages read, visited_bits bits
  BlockNumber visited_bits;
  BlockNumber nblocks;  // the index's size as last read (CheckListBlock reads it again when it grew)
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

// A lower bound, in the operator's units, of the true distance from the
// query to any row of a list whose centroid is at internal distance `d` from
// the query (nearest: `d0`). Every row lies in the list of the centroid
// nearest to it (build and insert choose so), so for a metric e,
// e(q, x) >= (e(q, c) - e(q, c0)) / 2 by the triangle inequality. e is the
// Euclidean distance for L2 and for cosine (unit vectors and centroids,
// where 1 - cos = e^2 / 2) and the Hamming distance for bit; a margin
// covers float rounding.
double ListBound(const ScanState* st, float d, float d0) {
  double e, e0;
  switch (st->facts.metric) {
    case Metric::kL2:
      e = std::sqrt(std::max(0.0f, d));
      e0 = std::sqrt(std::max(0.0f, d0));
      break;
    case Metric::kCosine:
      e = std::sqrt(std::max(0.0, 2.0 + 2.0 * d));
      e0 = std::sqrt(std::max(0.0, 2.0 + 2.0 * d0));
      break;
    case Metric::kHamming:
      e = d;
      e0 = d0;
      break;
    default:
      return -get_float8_infinity();
  }
  double b = std::max(0.0, (e - e0) / 2 * (1 - 1e-4) - 1e-6);
  return st->facts.metric == Metric::kCosine ? b * b / 2 : b;
}

// Marks a list page read (a checked block: below the index's size as last
// read); errors when it was read before (two lists sharing
// pages, or a cycle), so a corrupt index cannot return a row twice.
void MarkVisited(Relation index, ScanState* st, BlockNumber block) {
  if (block >= st->visited_bits) {  // the index grew (an insert's new page)
    BlockNumber n = Max(block + 1, st->nblocks);
    st->visited = static_cast<uint8*>(repalloc_huge(st->visited, (n + 7) / 8));
    memset(st->visited + (st->visited_bits + 7) / 8, 0, (n + 7) / 8 - (st->visited_bits + 7) / 8);
    st->visited_bits = n;
  }
  uint8 bit = static_cast<uint8>(1u << (block % 8));
  if (st->visited[block / 8] & bit) {
    ReportCorrupted(index, "list", "Block %u belongs to two lists, or twice to one.", block);
  }
  st->visited[block / 8] |= bit;
}

// Reads the rows of one list into st->rows (keys computed under the page's
// share lock: a few distances per item, no allocation).
void ReadList(Relation index, ScanState* st, int list) {
  const IndexFacts& f = st->facts;
  BlockNumber& nblocks = st->nblocks;  // the index's size as last read (grows)
  BlockNumber cblock = CentroidBlock(f, list);
  if (cblock >= nblocks) ReportCorrupted(index, "metapage", "Centroid page %u lies past the index's end.", cblock);
  Buffer cbuf = ReadBuffer(index, cblock);
  LockBuffer(cbuf, BUFFER_LOCK_SHARE);
  BlockNumber block = CentroidAt(index, f, BufferGetPage(cbuf), cblock, list, &nblocks)->first;
  UnlockReleaseBuffer(cbuf);
  while (block != InvalidBlockNumber) {
    CHECK_FOR_INTERRUPTS();
    MarkVisited(index, st, block);
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
        float err = 0, norm = 0;
        if (f.storage != kernels::CodeFormat::kF32) {
          err = kernels::CodeError(f.storage, code);
          norm = kernels::CodeNorm(f.storage, code);
          // A negative error would make the key exceed the true distance.
          if (!(err >= 0) || !(norm >= 0)) {
            ReportCorrupted(index, "item", "Item %u of block %u has a code error %g and norm %g.", off, block, err,
                            norm);
          }
        }
        row.key = am::OrderKey(f, d, err, norm, st->query_norm, &row.recheck);
        // NaN sorts after every number, as in ORDER BY.
        if (std::isnan(row.key)) row.key = get_float8_infinity();
        // The row was in a list not read before: no closer than the bound.
        row.key = std::max(row.key, st->bound);
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
  st->bound = -get_float8_infinity();
  st->max_rows = static_cast<int>(std::min<double>(std::max(65536.0, work_mem * 1024.0 / sizeof(Row)), 1 << 30));
  st->nblocks = RelationGetNumberOfBlocks(index);
  st->visited_bits = st->nblocks;
  st->visited = static_cast<uint8*>(MemoryContextAllocHuge(CurrentMemoryContext, (st->nblocks + 7) / 8));
  memset(st->visited, 0, (st->nblocks + 7) / 8);
  if (st->query_is_null) {
    // Every row, list by list, in no order: one list at a time.
    st->probes = 1;
    st->lists_limit = f.lists;
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
  st->bounded = ListBound(st, 0, 0) == 0;
  if (st->probes > f.lists / 4) st->strategy = GetAccessStrategy(BAS_BULKREAD);
}

// The bound (ListBound) of the lists not read yet, +inf when the scan reads no more.
double UnreadBound(const ScanState* st) {
  if (st->lists_read >= st->lists_limit) return get_float8_infinity();
  const float* d = st->list_distance;
  float next = d[st->list_order[st->lists_read]];
  for (int k = st->lists_read + 1; k < st->facts.lists; ++k) next = std::min(next, d[st->list_order[k]]);
  return ListBound(st, next, d[st->list_order[0]]);
}

// Reads the next batch of lists into the rows not yet returned (GetTuple
// orders them as it returns them); false when there is nothing left.
// What a batch may return (returnable):
//   - the first batch (ivfflat.probes lists): the nearer half of its rows, the
//     rows pgvector would return first; the far members of a list are often
//     farther than rows of the next lists, and stay for the next batch;
//   - later batches, for metrics with a bound: the rows no row of an unread
//     list can precede (key <= UnreadBound), reading more lists until there
//     are some, so a scan that goes on returns every row, in order, apart
//     from those closer than a row the first batch returned (which it skips);
//   - inner product (no bound), or past max_rows held: the nearer half again;
//   - relaxed order, a NULL query, or no list left: every row.
bool NextBatch(IndexScanDesc scan, ScanState* st) {
  int kept = st->count - st->pos;
  memmove(st->rows, st->rows + st->pos, sizeof(Row) * kept);
  st->count = kept;
  st->pos = 0;
  st->sorted_end = 0;
  while (st->lists_read < st->lists_limit) {
    int end = std::min(st->lists_limit, st->lists_read + st->probes);
    if (!st->query_is_null) {
      const float* d = st->list_distance;
      OrderPrefix(st->list_order + st->lists_read, st->list_order + end, st->list_order + st->facts.lists,
                  [d](int a, int b) { return d[a] < d[b] || (d[a] == d[b] && a < b); });
    }
    // At least one list; no more once max_rows rows are held.
    do {
      ReadList(scan->indexRelation, st, st->list_order[st->lists_read++]);
    } while (st->lists_read < end && st->count < st->max_rows);
    if (st->count == 0) continue;  // empty lists: read on
    if (st->relaxed_order || st->query_is_null) break;
    double unread = UnreadBound(st);
    bool first = !st->first_batch_done;
    st->first_batch_done = true;
    if (first || !st->bounded || st->count >= st->max_rows || unread == get_float8_infinity()) {
      if (st->bounded) st->bound = unread;
      st->returnable = unread == get_float8_infinity() ? st->count : (st->count + 1) / 2;
      return st->count > 0;
    }
    st->bound = unread;
    int ready = 0;
    for (int i = 0; i < st->count; ++i) ready += st->rows[i].key <= unread;
    if (ready > 0) {
      st->returnable = ready;
      return true;
    }
  }
  st->returnable = st->count;
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
  am::BeginGetTuple(scan, dir, "ivfflat");
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
