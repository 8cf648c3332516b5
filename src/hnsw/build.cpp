// CREATE INDEX: one heap scan copies the vectors into one array, the
// Postgres-free core builds the graph in memory with worker threads, and the
// graph is written to pages without WAL, then WAL-logged once
// (log_newpage_range). When the vectors and graph would outgrow
// maintenance_work_mem, what is in memory is written out and logged, and the
// remaining rows are inserted one by one (the aminsert path, Generic WAL),
// with a NOTICE: every page a WAL record changes was logged before.
// Also ambuildempty: the init fork of an unlogged index.
#include <new>

#include "core/graph_order.h"
#include "core/hnsw_build.h"
#include "am/settings.h"
#include "hnsw/hnsw.h"

extern "C" {
#include "access/generic_xlog.h"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/bufmgr.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kPhaseLoad = 2, kPhaseGraph = 3, kPhaseWrite = 4;

struct BuildState {
  Relation index;
  IndexFacts facts;
  MemoryContext tuple_cxt;  // reset after each heap tuple
  // in-memory phase
  bool in_memory;
  float* vectors;  // codes, facts.code_words words each
  ItemPointerData* heap_tids;
  size_t count;
  size_t capacity;
  size_t max_rows;  // rows that fit maintenance_work_mem with their graph
  size_t table_rows_estimate;  // pg_class.reltuples of the table, 0 if unknown
  int threads;
  double indexed;  // rows in the index
  bool pages_logged;  // the pages written without WAL have been logged
};

void FillMeta(Page page, const IndexFacts& f) {
  InitPage(page, kPageMeta);
  HnswMetaData* meta = GetMeta(page);
  memset(meta, 0, sizeof(*meta));
  meta->magic = kMagic;
  meta->version = kFormatVersion;
  meta->code_words = static_cast<uint16>(f.code_words);
  meta->metric = static_cast<uint8>(f.metric);
  meta->storage = static_cast<uint8>(f.storage);
  meta->m = static_cast<uint16>(f.m);
  meta->ef_construction = static_cast<uint16>(f.ef_construction);
  ItemPointerSetInvalid(&meta->entry);
  meta->entry_level = -1;
  meta->max_level = static_cast<uint16>(f.max_level);
  meta->key_type = static_cast<uint8>(f.key_type);
  meta->key_dims = static_cast<uint32>(f.key_dims);
  SealMeta(meta);
  // Keep the metadata out of the "hole" that full-page images leave out.
  reinterpret_cast<PageHeader>(page)->pd_lower =
      static_cast<LocationIndex>(reinterpret_cast<char*>(meta) + sizeof(HnswMetaData) - reinterpret_cast<char*>(page));
}

// The facts a new index will have, from its column, options and opclass.
IndexFacts NewFacts(Relation index) {
  IndexFacts f;
  memset(&f, 0, sizeof(f));
  const IndexColumn& column = ColumnOfIndex(index);
  f.key_type = column.key_type;
  f.key_dims = column.typmod;
  if (f.key_dims < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
                    errhint("Declare the column as %s(n), or index an expression such as (embedding::%s(3)).",
                            KeyTypeName(f.key_type), KeyTypeName(f.key_type))));
  }
  GetBuildParams(index, &f.m, &f.ef_construction);
  f.storage = GetQuantization(index);
  f.metric = column.metric;
  if (f.key_type == KeyType::kBit && f.storage != kernels::CodeFormat::kF32) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("hnsw option \"quantization\" = \"%s\" does not apply to bit columns",
                           kernels::CodeFormatName(f.storage)),
                    errdetail("A bit index stores its bits as they are; only \"f32\" (the default) is accepted.")));
  }
  int limit = MaxKeyDims(f.key_type, f.storage, f.m);
  if (f.key_dims > limit) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("%s of %d dimensions is too large for an hnsw index with m = %d and quantization "
                           "\"%s\": the limit is %d",
                           KeyTypeName(f.key_type), f.key_dims, f.m, kernels::CodeFormatName(f.storage), limit),
                    errdetail("A graph node (vector and links) must fit in one %d-byte page.", BLCKSZ),
                    errhint("Use a smaller m, a smaller quantization such as \"bf16\" or \"i8\", or reduce "
                            "the dimensions.")));
  }
  f.code_words = CodeWords(f.key_type, f.storage, f.key_dims);
  f.max_level = MaxLevelForCode(f.code_words, f.m);
  f.entry_level = -1;
  ItemPointerSetInvalid(&f.entry);
  SetKernels(&f);
  return f;
}

void WriteMetaPage(Relation index, ForkNumber fork, const IndexFacts& f, bool wal) {
  Buffer buf = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  START_CRIT_SECTION();
  FillMeta(BufferGetPage(buf), f);
  MarkBufferDirty(buf);
  // The init fork of an unlogged index is WAL-logged even though the index is not.
  if (wal) log_newpage_buffer(buf, true);
  END_CRIT_SECTION();
  UnlockReleaseBuffer(buf);
}

// Polled by the core on this thread while it builds: reports progress and
// asks the core to stop when the query is being cancelled or the backend is
// terminating (the error itself is raised after the core has returned).
bool PollBuild(void*, size_t done) {
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(done));
  return InterruptPending && (QueryCancelPending || ProcDiePending);
}

void DeleteGraph(void* graph) { delete static_cast<core::HnswGraph*>(graph); }

// Writes the in-memory graph to node pages (block 1 on) and the entry point
// to the metapage, in core::LocalityOrder (neighbours tend to share pages).
// Pages are not WAL-logged here (see Build).
void WriteGraph(BuildState* st, const core::HnswGraph& g) {
  const IndexFacts& f = st->facts;
  size_t n = g.size();
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseWrite);
  auto* order = static_cast<uint32*>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint32) * n));
  auto* placed = static_cast<uint8*>(MemoryContextAllocHuge(CurrentMemoryContext, n));
  core::LocalityOrder(g, order, placed);
  pfree(placed);
  // Place every node first, so links can name their targets' TIDs.
  auto* tids = static_cast<ItemPointerData*>(MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * n));
  BlockNumber block = kMetaBlock + 1;
  OffsetNumber off = FirstOffsetNumber;
  size_t used = 0;
  for (size_t p = 0; p < n; ++p) {
    uint32 id = order[p];
    int level = g.level(id);
    if (level > f.max_level) level = f.max_level;
    size_t need = MAXALIGN(NodeTupleSize(f.code_words, f.m, level)) + sizeof(ItemIdData);
    if (used + need > NodePageCapacity()) {
      ++block;
      off = FirstOffsetNumber;
      used = 0;
    }
    ItemPointerSet(&tids[id], block, off++);
    used += need;
  }

  auto* node = static_cast<NodeHeader*>(palloc(NodeTupleSize(f.code_words, f.m, f.max_level)));
  Buffer buf = InvalidBuffer;
  for (size_t p = 0; p < n; ++p) {
    uint32 id = order[p];
    if (buf == InvalidBuffer || BufferGetBlockNumber(buf) != ItemPointerGetBlockNumber(&tids[id])) {
      if (buf != InvalidBuffer) {
        MarkBufferDirty(buf);
        UnlockReleaseBuffer(buf);
      }
      CHECK_FOR_INTERRUPTS();
      buf = ReadBufferExtended(st->index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      InitPage(BufferGetPage(buf), kPageNodes);
    }
    int level = g.level(id) > f.max_level ? f.max_level : g.level(id);
    node->heap_tid = st->heap_tids[id];
    node->level = static_cast<uint8>(level);
    node->flags = 0;
    memcpy(NodeCode(node), st->vectors + static_cast<size_t>(id) * f.code_words, WordBytes(f.code_words));
    ItemPointerData* slots = NodeSlotsPtr(node, f.code_words);
    for (int l = 0; l <= level; ++l) {
      int count;
      const uint32* nb = g.neighbors(id, l, &count);
      ItemPointerData* dst = slots + LevelSlotStart(f.m, l);
      for (int k = 0; k < core::MaxLinks(f.m, l); ++k) {
        if (k < count) {
          dst[k] = tids[nb[k]];
        } else {
          ItemPointerSetInvalid(&dst[k]);
        }
      }
    }
    Size size = NodeTupleSize(f.code_words, f.m, level);
    if (PageAddItem(BufferGetPage(buf), (Item)node, size, ItemPointerGetOffsetNumber(&tids[id]), false, false) ==
        InvalidOffsetNumber) {
      elog(ERROR, "failed to add node to index \"%s\"", RelationGetRelationName(st->index));
    }
  }
  if (buf != InvalidBuffer) {
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
  }
  pfree(order);

  uint32 entry = g.entry_point();
  if (entry != core::kInvalidId) {
    Buffer meta = ReadBuffer(st->index, kMetaBlock);
    LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
    HnswMetaData* m = GetMeta(BufferGetPage(meta));
    m->entry = tids[entry];
    m->entry_level = static_cast<int16>(g.max_level() > f.max_level ? f.max_level : g.max_level());
    SealMeta(m);
    MarkBufferDirty(meta);
    UnlockReleaseBuffer(meta);
  }
  pfree(node);
  pfree(tids);
}

// Builds the graph of the vectors collected so far and writes it out.
void BuildInMemory(BuildState* st) {
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseGraph);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, static_cast<int64>(st->count));
  auto* graph = new (std::nothrow) core::HnswGraph();
  if (!graph) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  // Freed with the build's memory context, on success or error alike.
  auto* cb = static_cast<MemoryContextCallback*>(palloc(sizeof(MemoryContextCallback)));
  cb->func = DeleteGraph;
  cb->arg = graph;
  MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

  core::BuildOptions opts;
  opts.params.m = st->facts.m;
  opts.params.ef_construction = st->facts.ef_construction;
  opts.threads = st->threads;
  opts.poll = PollBuild;
  opts.poll_ctx = st;
  const IndexFacts& f = st->facts;
  core::RowFormat format{static_cast<size_t>(f.code_words), static_cast<size_t>(f.query_words), f.distance, f.decode};
  core::Status status = core::BuildGraph(st->vectors, st->count, format, opts, graph);
  if (status == core::Status::kCancelled) {
    CHECK_FOR_INTERRUPTS();
    ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED), errmsg("hnsw index build was interrupted")));
  }
  if (status != core::Status::kOk) {
    ereport(ERROR, (errcode(status == core::Status::kOutOfMemory ? ERRCODE_OUT_OF_MEMORY : ERRCODE_INTERNAL_ERROR),
                    errmsg("hnsw graph build failed: %s", core::StatusName(status))));
  }
  WriteGraph(st, *graph);
}

// WAL-logs the pages written without WAL so far (the metapage and the
// in-memory graph), once.
void LogBuiltPages(BuildState* st) {
  if (st->pages_logged) return;
  st->pages_logged = true;
  if (RelationNeedsWAL(st->index)) {
    log_newpage_range(st->index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(st->index), true);
  }
}

// Rows the in-memory build can hold within the budget (vectors and graph).
size_t MaxRowsInMemory(size_t budget, int code_words, int m, int threads) {
  size_t lo = 0, hi = static_cast<size_t>(UINT32_MAX) - 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    if (core::HnswGraph::EstimateBytes(mid, code_words, m, threads) <= budget) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

void LeaveMemory(BuildState* st) {
  // What the whole table would need: its row estimate, when there is one
  // larger than what was read so far.
  size_t rows = st->table_rows_estimate > st->count + 1 ? st->table_rows_estimate : st->count + 1;
  size_t would_need = core::HnswGraph::EstimateBytes(rows, st->facts.code_words, st->facts.m, st->threads);
  ereport(NOTICE, (errmsg("hnsw graph no longer fits into maintenance_work_mem after %zu tuples", st->count),
                   errdetail("Building will take significantly more time."),
                   errhint("Increase maintenance_work_mem to at least %zu MB to speed up builds of this size.",
                           would_need / (1024 * 1024) + 1)));
  BuildInMemory(st);
  // From here on the rows go in through InsertNode's Generic WAL records,
  // which a standby (or crash recovery) can only apply to pages it has: log
  // every page written so far first (with full_page_writes = off a record
  // would otherwise carry only a delta against a page nobody logged).
  LogBuiltPages(st);
  pfree(st->vectors);
  pfree(st->heap_tids);
  st->vectors = nullptr;
  st->heap_tids = nullptr;
  st->in_memory = false;
  ReadFacts(st->index, &st->facts);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseLoad);
}

// The prepared form of a row's key; false when it is not indexed.
bool PrepareBuildKey(BuildState* st, Datum key, float* out) {
  return PrepareRowKey(st->facts, key, out);
}

void BuildCallback(Relation index, ItemPointer tid, Datum* values, bool* isnull, bool alive, void* arg) {
  auto* st = static_cast<BuildState*>(arg);
  if (isnull[0]) return;
  MemoryContext old = MemoryContextSwitchTo(st->tuple_cxt);
  int words = st->facts.code_words;
  if (st->in_memory && st->count == st->capacity) {
    if (st->capacity == st->max_rows) {
      // The next row would not fit: finish what is in memory, then go slow.
      LeaveMemory(st);
    } else {
      size_t next = st->capacity * 2 < st->max_rows ? st->capacity * 2 : st->max_rows;
      st->vectors = static_cast<float*>(repalloc_huge(st->vectors, sizeof(float) * words * next));
      st->heap_tids = static_cast<ItemPointerData*>(repalloc_huge(st->heap_tids, sizeof(ItemPointerData) * next));
      st->capacity = next;
    }
  }
  auto* prepared = static_cast<float*>(palloc(WordBytes(st->facts.query_words)));
  if (st->in_memory) {
    // The in-memory array holds codes, so a reduced format shrinks it.
    if (PrepareBuildKey(st, values[0], prepared)) {
      EncodeKey(st->facts, prepared, st->vectors + st->count * words);
      st->heap_tids[st->count++] = *tid;
      st->indexed += 1;
    }
  } else {
    if (PrepareBuildKey(st, values[0], prepared)) {
      InsertNode(index, st->facts, prepared, tid);
      ReadFacts(index, &st->facts);
      st->indexed += 1;
    }
  }
  MemoryContextSwitchTo(old);
  MemoryContextReset(st->tuple_cxt);
}

}  // namespace

IndexBuildResult* Build(Relation heap, Relation index, IndexInfo* info) {
  if (RelationGetNumberOfBlocks(index) != 0) {
    elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
  }
  MemoryContext build_cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw build", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(build_cxt);

  BuildState st;
  memset(&st, 0, sizeof(st));
  st.index = index;
  st.facts = NewFacts(index);
  st.tuple_cxt = AllocSetContextCreate(build_cxt, "vecann hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
  st.in_memory = true;
  st.threads = am::BuildThreads();
  st.max_rows = MaxRowsInMemory(static_cast<size_t>(maintenance_work_mem) * 1024, st.facts.code_words, st.facts.m,
                                st.threads);
  st.table_rows_estimate = heap->rd_rel->reltuples > 0 ? static_cast<size_t>(heap->rd_rel->reltuples) : 0;
  st.capacity = st.max_rows < 1024 ? st.max_rows : 1024;
  st.vectors = static_cast<float*>(MemoryContextAllocHuge(build_cxt, sizeof(float) * st.facts.code_words * st.capacity));
  st.heap_tids = static_cast<ItemPointerData*>(MemoryContextAllocHuge(build_cxt, sizeof(ItemPointerData) * st.capacity));

  WriteMetaPage(index, MAIN_FORKNUM, st.facts, false);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, kPhaseLoad);
  double heap_tuples = table_index_build_scan(heap, index, info, true, true, BuildCallback, &st, nullptr);
  if (st.in_memory) BuildInMemory(&st);
  LogBuiltPages(&st);
  MemoryContextSwitchTo(old);
  double indexed = st.indexed;
  MemoryContextDelete(build_cxt);

  auto* result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
  result->heap_tuples = heap_tuples;
  result->index_tuples = indexed;
  return result;
}

void BuildEmpty(Relation index) {
  IndexFacts f = NewFacts(index);
  WriteMetaPage(index, INIT_FORKNUM, f, true);
}

}  // namespace vecann::hnsw
