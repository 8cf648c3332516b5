// ivfflat index build: sample the table, cluster the sample into `lists`
// centroids with the core's k-means, then read the table again and put each
// row in the list of its nearest centroid.
//
//   1. One heap scan keeps a uniform sample (reservoir) of up to 50 rows per
//      list, as pgvector does, and, while they fit maintenance_work_mem, all
//      rows' prepared keys.
//   2. core::KMeans clusters the sample on vecann.build_threads threads (L2
//      k-means; spherical, unit centroids, for cosine; bit keys are
//      clustered as 0/1 floats and each centroid bit is its cluster's
//      majority, so centroids are bit strings compared by Hamming distance).
//   3. core::AssignNearest finds each row's list with the same threads and
//      the index's distance to centroids (the one a scan uses to choose
//      lists), and the rows are appended list by list, so each list's pages
//      lie in a run. Rows kept in memory are assigned at once; when they did
//      not fit, a second heap scan reads them again in chunks that do (each
//      list then in one run per chunk).
// Pages are written without WAL and logged once at the end
// (log_newpage_range), as the hnsw build does. Progress is reported in
// pg_stat_progress_create_index; the core polls for cancellation.
#include <algorithm>

#include "am/settings.h"
#include "core/kmeans.h"
#include "ivfflat/ivfflat.h"

extern "C" {
#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "access/xloginsert.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
}

namespace vecann::ivfflat {
namespace {

constexpr int64 kPhaseKMeans = 2, kPhaseAssign = 3;
constexpr int kSamplePerList = 50;
constexpr uint64 kSampleSeed = 0x1f1f1a7;

struct BuildState {
  Relation index;
  IndexFacts facts;
  int threads;
  MemoryContext tuple_cxt;  // reset after each row
  float* prepared;          // one row's prepared key
  // phase 1: the sample, in k-means form (kmeans_dims floats per row), and
  // while in_memory the rows in the chunk arrays below
  bool in_memory;
  int kmeans_dims;
  float* sample;
  size_t sample_cap;
  size_t sample_count;
  uint64 rows_seen;
  pg_prng_state rng;
  // phase 3: a chunk of rows waiting for their lists (phase 1: all rows, while
  // they fit)
  float* centroids;  // lists * query_words, the centroids as prepared keys
  float* chunk;      // chunk_cap * query_words
  ItemPointerData* chunk_tids;
  uint32_t* chunk_lists;
  size_t chunk_cap;
  size_t chunk_count;
  BlockNumber* first;  // per list, InvalidBlockNumber until it has a page
  BlockNumber* last;
  double heap_tuples;  // rows the first heap scan saw
  double index_tuples;
};

// Polled by the core on this thread: asks it to stop when the query is
// being cancelled or the backend is terminating (raised after it returns).
bool PollBuild(void*, size_t) { return InterruptPending && (QueryCancelPending || ProcDiePending); }

void CheckCore(core::Status status) {
  if (status == core::Status::kCancelled) {
    CHECK_FOR_INTERRUPTS();
    ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("ivfflat index build was interrupted")));
  }
  if (status != core::Status::kOk) {
    ereport(ERROR, (errcode(status == core::Status::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
                    errmsg("ivfflat index build failed: %s", core::StatusName(status))));
  }
}

// A prepared key in the form k-means clusters: the floats themselves, or
// bits as 0/1 floats.
void ToKMeansForm(const IndexFacts& f, const float* prepared, float* out) {
  if (f.key_type != KeyType::kBit) {
    memcpy(out, prepared, WordBytes(f.query_words));
    return;
  }
  auto* bytes = reinterpret_cast<const uint8*>(prepared);
  // VARBITS order: the first bit is the high bit of the first byte.
  for (int i = 0; i < f.key_dims; ++i) out[i] = (bytes[i / 8] >> (7 - i % 8)) & 1 ? 1.0f : 0.0f;
}

// A k-means centroid as a prepared key (bits: each bit the majority).
void FromKMeansForm(const IndexFacts& f, const float* centroid, float* out) {
  if (f.key_type != KeyType::kBit) {
    memcpy(out, centroid, WordBytes(f.query_words));
    return;
  }
  memset(out, 0, WordBytes(f.query_words));
  auto* bytes = reinterpret_cast<uint8*>(out);
  for (int i = 0; i < f.key_dims; ++i) {
    if (centroid[i] > 0.5f) bytes[i / 8] |= static_cast<uint8>(1u << (7 - i % 8));
  }
}

void SampleCallback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
  auto* st = static_cast<BuildState*>(arg);
  if (isnull[0]) return;
  MemoryContext old = MemoryContextSwitchTo(st->tuple_cxt);
  bool indexed = am::PrepareRowKey(st->facts, values[0], st->prepared);
  MemoryContextSwitchTo(old);
  MemoryContextReset(st->tuple_cxt);
  if (!indexed) return;
  if (st->in_memory && st->chunk_count == st->chunk_cap) st->in_memory = false;  // read them again later
  if (st->in_memory) {
    memcpy(st->chunk + st->chunk_count * st->facts.query_words, st->prepared, WordBytes(st->facts.query_words));
    st->chunk_tids[st->chunk_count++] = *tid;
  }
  ++st->rows_seen;
  size_t slot = st->sample_count;
  if (st->sample_count == st->sample_cap) {
    // Reservoir sampling: row number rows_seen replaces a kept row with
    // probability sample_cap / rows_seen.
    uint64 j = pg_prng_uint64_range(&st->rng, 0, st->rows_seen - 1);
    if (j >= st->sample_cap) return;
    slot = static_cast<size_t>(j);
  } else {
    ++st->sample_count;
  }
  ToKMeansForm(st->facts, st->prepared, st->sample + slot * st->kmeans_dims);
}

Buffer NewPage(Relation index, uint16 type) {
  Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  InitPage(BufferGetPage(buf), type);
  MarkBufferDirty(buf);
  return buf;
}

// Appends the chunk's rows to their lists' pages, list by list.
void FlushChunk(BuildState* st) {
  const IndexFacts& f = st->facts;
  size_t n = st->chunk_count;
  if (n == 0) return;
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseAssign);
  CheckCore(core::AssignNearest(st->chunk, n, static_cast<size_t>(f.query_words), static_cast<size_t>(f.query_words),
                                st->centroids, static_cast<size_t>(f.lists), f.centroid_distance, st->threads,
                                PollBuild, nullptr, st->chunk_lists));
  // Rows by list (a stable counting sort keeps table order within a list).
  auto* order = static_cast<uint32*>(palloc(sizeof(uint32) * n));
  auto* start = static_cast<uint32*>(palloc0(sizeof(uint32) * (f.lists + 1)));
  for (size_t i = 0; i < n; ++i) ++start[st->chunk_lists[i] + 1];
  for (int j = 0; j < f.lists; ++j) start[j + 1] += start[j];
  for (size_t i = 0; i < n; ++i) order[start[st->chunk_lists[i]]++] = static_cast<uint32>(i);
  size_t item_size = ListTupleSize(f.code_words);
  auto* item = static_cast<ListTuple*>(palloc0(item_size));
  Buffer buf = InvalidBuffer;
  int buf_list = -1;
  for (size_t k = 0; k < n; ++k) {
    uint32 i = order[k];
    int list = static_cast<int>(st->chunk_lists[i]);
    if (list != buf_list) {
      if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
      CHECK_FOR_INTERRUPTS();  // no buffer locked (a lock holds interrupts off)
      if (st->last[list] == InvalidBlockNumber) {
        buf = NewPage(st->index, kPageList);
        st->first[list] = st->last[list] = BufferGetBlockNumber(buf);
      } else {
        buf = ReadBuffer(st->index, st->last[list]);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      }
      buf_list = list;
    }
    item->heap_tid = st->chunk_tids[i];
    am::EncodeKey(f, st->chunk + static_cast<size_t>(i) * f.query_words, CodeOf(item));
    if (PageAddItem(BufferGetPage(buf), reinterpret_cast<Item>(item), item_size, InvalidOffsetNumber, false, false) ==
        InvalidOffsetNumber) {
      Buffer next = NewPage(st->index, kPageList);
      GetOpaque(BufferGetPage(buf))->next = BufferGetBlockNumber(next);
      MarkBufferDirty(buf);
      UnlockReleaseBuffer(buf);
      buf = next;
      st->last[list] = BufferGetBlockNumber(buf);
      // No other backend reads the index while it is built: unlock the new
      // page for a moment, so that a cancel is seen once per page.
      LockBuffer(buf, BUFFER_LOCK_UNLOCK);
      CHECK_FOR_INTERRUPTS();
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      if (PageAddItem(BufferGetPage(buf), reinterpret_cast<Item>(item), item_size, InvalidOffsetNumber, false,
                      false) == InvalidOffsetNumber) {
        elog(ERROR, "ivfflat list tuple of %zu bytes does not fit an empty page", item_size);
      }
    }
    MarkBufferDirty(buf);
  }
  if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
  st->index_tuples += static_cast<double>(n);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(st->index_tuples));
  pfree(order);
  pfree(start);
  pfree(item);
  st->chunk_count = 0;
}

void AssignCallback(Relation, ItemPointer tid, Datum* values, bool* isnull, bool, void* arg) {
  auto* st = static_cast<BuildState*>(arg);
  if (isnull[0]) return;
  float* out = st->chunk + st->chunk_count * st->facts.query_words;
  MemoryContext old = MemoryContextSwitchTo(st->tuple_cxt);
  bool indexed = am::PrepareRowKey(st->facts, values[0], out);
  MemoryContextSwitchTo(old);
  MemoryContextReset(st->tuple_cxt);
  if (!indexed) return;
  st->chunk_tids[st->chunk_count++] = *tid;
  if (st->chunk_count == st->chunk_cap) FlushChunk(st);
}

// Writes the centroids with their lists' first and last pages into the
// centroid pages (blocks 1 .. centroid_pages, extended empty at the start).
void WriteCentroids(BuildState* st) {
  const IndexFacts& f = st->facts;
  size_t item_size = CentroidTupleSize(f.query_words);
  auto* item = static_cast<CentroidTuple*>(palloc0(item_size));
  for (BlockNumber p = 0; p < f.centroid_pages; ++p) {
    Buffer buf = ReadBuffer(st->index, kFirstCentroidBlock + p);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    int end = Min(f.lists, static_cast<int>(p + 1) * f.per_page);
    for (int j = static_cast<int>(p) * f.per_page; j < end; ++j) {
      item->first = st->first[j];
      item->last = st->last[j];
      memcpy(CentroidOf(item), st->centroids + static_cast<size_t>(j) * f.query_words, WordBytes(f.query_words));
      if (PageAddItem(page, reinterpret_cast<Item>(item), item_size, InvalidOffsetNumber, false, false) !=
          CentroidOffset(f, j)) {
        elog(ERROR, "ivfflat centroid %d did not land at its offset", j);
      }
    }
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
  }
  pfree(item);
}

void WriteMetaPage(Relation index, ForkNumber fork, const IndexFacts& f, bool wal) {
  Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  START_CRIT_SECTION();
  WriteMeta(BufferGetPage(buf), f);
  MarkBufferDirty(buf);
  if (wal) log_newpage_buffer(buf, true);
  END_CRIT_SECTION();
  UnlockReleaseBuffer(buf);
}

// Bytes a row takes in a chunk: its prepared key, TID, list and place in
// FlushChunk's order.
size_t RowBytes(const IndexFacts& f) {
  return WordBytes(f.query_words) + sizeof(ItemPointerData) + 2 * sizeof(uint32_t);
}

// Chunk arrays for `rows` rows (at least 1024).
void AllocChunk(BuildState* st, size_t rows) {
  const IndexFacts& f = st->facts;
  st->chunk_cap = std::max<size_t>(1024, rows);
  st->chunk_cap = std::min({st->chunk_cap, MaxAllocHugeSize / WordBytes(f.query_words), size_t{UINT32_MAX}});
  st->chunk = static_cast<float*>(MemoryContextAllocHuge(CurrentMemoryContext, st->chunk_cap * WordBytes(f.query_words)));
  st->chunk_tids =
      static_cast<ItemPointerData*>(MemoryContextAllocHuge(CurrentMemoryContext, st->chunk_cap * sizeof(ItemPointerData)));
  st->chunk_lists = static_cast<uint32_t*>(MemoryContextAllocHuge(CurrentMemoryContext, st->chunk_cap * sizeof(uint32_t)));
  st->chunk_count = 0;
}

// The centroids from the sample (phases 1 and 2).
void ChooseCentroids(BuildState* st, Relation heap, IndexInfo* info, size_t budget) {
  IndexFacts& f = st->facts;
  size_t kdim = static_cast<size_t>(st->kmeans_dims);
  size_t lists = static_cast<size_t>(f.lists);
  // What k-means needs besides the sample: its centroids, their previous
  // positions and a few words per sampled row (kmeans.h).
  size_t fixed = lists * kdim * 8 + lists * WordBytes(f.query_words) + lists * 16;
  size_t per_sample = kdim * 4 + 16;
  if (fixed + per_sample * std::min<size_t>(lists, 1024) > budget) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("memory required is %zu MB, maintenance_work_mem is %d MB",
                           (fixed + per_sample * lists) / (1024 * 1024) + 1, maintenance_work_mem / 1024)));
  }
  st->sample_cap = std::min(lists * kSamplePerList, (budget - fixed) / per_sample);
  st->sample_cap = std::min(st->sample_cap, MaxAllocHugeSize / (kdim * 4));
  st->sample = static_cast<float*>(MemoryContextAllocHuge(CurrentMemoryContext, st->sample_cap * kdim * 4));
  // The rest holds rows (and their lists, at assignment): all of them if they
  // fit, sized by the table's row estimate when it has one.
  size_t room = (budget - fixed - per_sample * st->sample_cap) / RowBytes(f);
  double estimate = heap->rd_rel->reltuples;
  if (estimate >= 0) room = std::min(room, static_cast<size_t>(estimate * 1.1) + 1024);
  AllocChunk(st, room);
  st->in_memory = true;
  pg_prng_seed(&st->rng, kSampleSeed);
  st->heap_tuples = table_index_build_scan(heap, st->index, info, true, true, SampleCallback, st, nullptr);
  if (!st->in_memory) st->chunk_count = 0;

  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseKMeans);
  st->centroids = static_cast<float*>(MemoryContextAllocHuge(CurrentMemoryContext, lists * WordBytes(f.query_words)));
  if (st->sample_count < lists) {
    ereport(NOTICE, (errmsg("ivfflat index created with little data"), errdetail("This will cause low recall."),
                     errhint("Drop the index until the table has more data.")));
  }
  if (st->sample_count == 0) {
    // No rows: every list gets the zero centroid (rows inserted later all
    // join the first list, until a REINDEX clusters them).
    memset(st->centroids, 0, lists * WordBytes(f.query_words));
  } else {
    auto* kc = static_cast<float*>(MemoryContextAllocHuge(CurrentMemoryContext, lists * kdim * 4));
    core::KMeansOptions opts;
    opts.k = lists;
    opts.threads = st->threads;
    opts.spherical = f.metric == Metric::kCosine;
    opts.poll = PollBuild;
    CheckCore(core::KMeans(st->sample, st->sample_count, kdim, opts, kc));
    for (size_t j = 0; j < lists; ++j) FromKMeansForm(f, kc + j * kdim, st->centroids + j * f.query_words);
    pfree(kc);
  }
  pfree(st->sample);
  st->sample = nullptr;
}

}  // namespace

IndexBuildResult* Build(Relation heap, Relation index, IndexInfo* info) {
  if (RelationGetNumberOfBlocks(index) != 0) {
    elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
  }
  MemoryContext build_cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann ivfflat build", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(build_cxt);
  BuildState st;
  memset(&st, 0, sizeof(st));
  st.index = index;
  st.facts = NewFacts(index, GetLists(index));
  const IndexFacts& f = st.facts;
  st.threads = am::BuildThreads();
  st.tuple_cxt = AllocSetContextCreate(build_cxt, "vecann ivfflat build tuple", ALLOCSET_DEFAULT_SIZES);
  st.prepared = static_cast<float*>(palloc(WordBytes(f.query_words)));
  st.kmeans_dims = f.key_type == KeyType::kBit ? f.key_dims : f.query_words;
  size_t budget = static_cast<size_t>(maintenance_work_mem) * 1024;

  // The metapage and the (still empty) centroid pages come first.
  WriteMetaPage(index, MAIN_FORKNUM, f, false);
  for (BlockNumber p = 0; p < f.centroid_pages; ++p) UnlockReleaseBuffer(NewPage(index, kPageCentroids));
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, static_cast<int64>(heap->rd_rel->reltuples));

  ChooseCentroids(&st, heap, info, budget);

  st.first = static_cast<BlockNumber*>(palloc(sizeof(BlockNumber) * f.lists));
  st.last = static_cast<BlockNumber*>(palloc(sizeof(BlockNumber) * f.lists));
  for (int j = 0; j < f.lists; ++j) st.first[j] = st.last[j] = InvalidBlockNumber;
  double heap_tuples = st.heap_tuples;
  if (!st.in_memory) {
    // The rows did not fit: read them again, a chunk at a time.
    ereport(DEBUG1, (errmsg("ivfflat build reads the table twice: its rows do not fit maintenance_work_mem")));
    pfree(st.chunk);
    pfree(st.chunk_tids);
    pfree(st.chunk_lists);
    AllocChunk(&st, budget / 2 / RowBytes(f));
    heap_tuples = table_index_build_scan(heap, index, info, true, true, AssignCallback, &st, nullptr);
  }
  FlushChunk(&st);
  for (int j = 0; j < f.lists; ++j) {
    if (st.first[j] != InvalidBlockNumber) continue;
    Buffer buf = NewPage(index, kPageList);
    st.first[j] = st.last[j] = BufferGetBlockNumber(buf);
    UnlockReleaseBuffer(buf);
  }
  WriteCentroids(&st);
  if (RelationNeedsWAL(index)) {
    log_newpage_range(index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(index), true);
  }
  MemoryContextSwitchTo(old);
  auto* result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
  result->heap_tuples = heap_tuples;
  result->index_tuples = st.index_tuples;
  MemoryContextDelete(build_cxt);
  return result;
}

void BuildEmpty(Relation index) {
  // The init fork of an unlogged index: one list, zero centroid. After a
  // crash the index starts over from it, as the table does.
  IndexFacts f = NewFacts(index, 1);
  WriteMetaPage(index, INIT_FORKNUM, f, true);
  Buffer cbuf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(cbuf, BUFFER_LOCK_EXCLUSIVE);
  Buffer lbuf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(lbuf, BUFFER_LOCK_EXCLUSIVE);
  size_t item_size = CentroidTupleSize(f.query_words);
  auto* item = static_cast<CentroidTuple*>(palloc0(item_size));
  item->first = item->last = BufferGetBlockNumber(lbuf);
  START_CRIT_SECTION();
  InitPage(BufferGetPage(cbuf), kPageCentroids);
  InitPage(BufferGetPage(lbuf), kPageList);
  if (PageAddItem(BufferGetPage(cbuf), reinterpret_cast<Item>(item), item_size, InvalidOffsetNumber, false, false) ==
      InvalidOffsetNumber) {
    elog(PANIC, "ivfflat centroid does not fit an empty page");
  }
  MarkBufferDirty(cbuf);
  MarkBufferDirty(lbuf);
  log_newpage_buffer(cbuf, true);
  log_newpage_buffer(lbuf, true);
  END_CRIT_SECTION();
  UnlockReleaseBuffer(lbuf);
  UnlockReleaseBuffer(cbuf);
  pfree(item);
}

}  // namespace vecann::ivfflat
