// Inserting rows into the on-disk graph (aminsert, and the build's slow path).
//
// Lock protocol (the whole index follows it, so no deadlock is possible):
//   - at most one node page is content-locked at a time, and only while a
//     node is read, added or its neighbour list rewritten;
//   - the metapage may be locked before a node page (never after): the first
//     insert into an empty index holds it while it writes the entry node;
//   - neighbour lists are rewritten optimistically: read (share lock),
//     decide, then re-lock exclusively and write only if the list is still
//     what was read, else start over (bounded retries).
// Every page change is WAL-logged with Generic WAL.
#include "core/level.h"
#include "core/select_neighbors.h"
#include "hnsw/hnsw.h"
#include "hnsw/search.h"

extern "C" {
#include "access/generic_xlog.h"
#include "common/pg_prng.h"
#include "storage/freespace.h"
#include "utils/float.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kRelinkRetries = 8;

// Fills a node tuple: header, vector code, and `level`+1 neighbour lists
// taken from links[l][0..nlinks[l]); unused slots invalid.
void FillNode(NodeHeader* node, const IndexFacts& f, const float* code, ItemPointer heap_tid, int level,
              ItemPointerData* const* links, const int* nlinks) {
  node->heap_tid = *heap_tid;
  node->level = static_cast<uint8>(level);
  node->flags = 0;
  memcpy(NodeVector(node), code, VectorBytes(f.dims));
  ItemPointerData* slots = NodeSlotsPtr(node, f.dims);
  for (int i = 0; i < NodeSlots(f.m, level); ++i) ItemPointerSetInvalid(&slots[i]);
  for (int l = 0; l <= level; ++l) {
    for (int i = 0; i < nlinks[l]; ++i) slots[LevelSlotStart(f.m, l) + i] = links[l][i];
  }
}

// Adds a node tuple to `buf`'s page (exclusively locked) if it fits; WAL-logged.
bool AddToPage(Relation index, Buffer buf, const NodeHeader* node, Size size, ItemPointerData* tid) {
  if (PageGetFreeSpace(BufferGetPage(buf)) < MAXALIGN(size)) return false;
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, 0);
  OffsetNumber off = PageAddItem(page, (Item)node, size, InvalidOffsetNumber, false, false);
  if (off == InvalidOffsetNumber) elog(ERROR, "failed to add node to index \"%s\"", RelationGetRelationName(index));
  GenericXLogFinish(state);
  ItemPointerSet(tid, BufferGetBlockNumber(buf), off);
  return true;
}

// Adds a node tuple where there is room: space vacuum freed (the free space
// map), else the last page, else a new page. Returns its TID.
ItemPointerData AddNodeTuple(Relation index, const NodeHeader* node, Size size) {
  ItemPointerData tid;
  Size need = MAXALIGN(size) + sizeof(ItemIdData);
  for (BlockNumber blk = GetPageWithFreeSpace(index, need); blk != InvalidBlockNumber;) {
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    bool added = GetOpaque(BufferGetPage(buf))->page_type == kPageNodes && AddToPage(index, buf, node, size, &tid);
    Size left = PageGetFreeSpace(BufferGetPage(buf));
    UnlockReleaseBuffer(buf);
    if (added) {
      RecordPageWithFreeSpace(index, blk, left);
      return tid;
    }
    blk = RecordAndGetPageWithFreeSpace(index, blk, left, need);
  }
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  if (nblocks > 1) {
    Buffer buf = ReadBuffer(index, nblocks - 1);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    bool added = AddToPage(index, buf, node, size, &tid);
    UnlockReleaseBuffer(buf);
    if (added) return tid;
  }
  LockRelationForExtension(index, ExclusiveLock);
  Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  UnlockRelationForExtension(index, ExclusiveLock);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
  InitPage(page, kPageNodes);
  OffsetNumber off = PageAddItem(page, (Item)node, size, InvalidOffsetNumber, false, false);
  if (off == InvalidOffsetNumber) elog(ERROR, "failed to add node to index \"%s\"", RelationGetRelationName(index));
  GenericXLogFinish(state);
  ItemPointerSet(&tid, BufferGetBlockNumber(buf), off);
  UnlockReleaseBuffer(buf);
  return tid;
}

// Makes `tid` (of `level`) the entry point unless one at least as high exists;
// the caller holds the metapage's buffer exclusively locked.
void PromoteEntry(Relation index, ItemPointer tid, int level, Buffer meta_buf_locked) {
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, meta_buf_locked, 0);
  HnswMetaData* meta = GetMeta(page);
  if (!ItemPointerIsValid(&meta->entry) || meta->entry_level < level) {
    meta->entry = *tid;
    meta->entry_level = static_cast<int16>(level);
    GenericXLogFinish(state);
  } else {
    GenericXLogAbort(state);
  }
}

// The code of candidate i of a re-selection.
struct CodeArray {
  float* const* codes;
  const float* operator()(uint32 i) const { return codes[i]; }
};

// Links `from` (a neighbour chosen for the new node) back to the new node at
// `level`, re-selecting its list with the heuristic when it is full.
void LinkBack(Relation index, const IndexFacts& f, ItemPointer from, int level, ItemPointer new_tid,
              const float* new_vector) {
  int cap = LevelSlotCount(f.m, level);
  size_t n_words = static_cast<size_t>(f.query_words);
  auto* links = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * (cap + 1)));
  auto* from_vector = static_cast<float*>(palloc(VectorBytes(f.dims)));
  auto* from_query = static_cast<float*>(palloc(VectorBytes(f.query_words)));
  // Candidate vectors: the existing neighbours, then the new node.
  auto** vectors = static_cast<float**>(palloc(sizeof(float*) * (cap + 1)));
  for (int i = 0; i < cap; ++i) vectors[i] = static_cast<float*>(palloc(VectorBytes(f.dims)));
  auto* cands = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * (cap + 1)));
  auto* chosen = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * cap));
  auto* new_list = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));

  for (int attempt = 0; attempt < kRelinkRetries; ++attempt) {
    int n = ReadNode(index, f, from, level, from_vector, links, nullptr);
    if (n < 0) return;  // vacuum removed it meanwhile
    bool already = false;
    for (int i = 0; i < n; ++i) already |= ItemPointerEquals(&links[i], new_tid);
    if (already) return;

    int count = 0;
    if (n < cap) {
      memcpy(new_list, links, sizeof(ItemPointerData) * n);
      new_list[n] = *new_tid;
      count = n + 1;
    } else {
      const float* q = CodeAsQuery(f, from_vector, from_query);
      for (int i = 0; i < n; ++i) {
        // A neighbour vacuum removed meanwhile sorts last and is dropped.
        bool gone = ReadNode(index, f, &links[i], level, vectors[i], nullptr, nullptr) < 0;
        float d = gone ? get_float4_infinity() : f.distance(q, vectors[i], n_words);
        cands[i] = core::Candidate{d, static_cast<uint32>(i)};
      }
      vectors[n] = const_cast<float*>(new_vector);
      cands[n] = core::Candidate{f.distance(q, new_vector, n_words), static_cast<uint32>(n)};
      core::SortCandidates(cands, n + 1);
      CodePairDistance<CodeArray> pair(&f, CodeArray{vectors});
      size_t kept = core::SelectNeighbors(cands, n + 1, pair, cap, chosen);
      // Keep the surviving links in their slots and put the new node where a
      // dropped one was: the page changes by a few bytes, and so does its WAL.
      bool* stays = static_cast<bool*>(palloc0(sizeof(bool) * (n + 1)));
      for (size_t i = 0; i < kept; ++i) stays[chosen[i].id] = true;
      if (!stays[n]) return;
      bool placed = false;
      for (int i = 0; i < n; ++i) {
        if (stays[i]) {
          new_list[i] = links[i];
        } else if (!placed) {
          new_list[i] = *new_tid;
          placed = true;
        } else {
          ItemPointerSetInvalid(&new_list[i]);
        }
      }
      count = n;
    }

    // Write the new list if nobody changed the old one meanwhile.
    Buffer buf = ReadBuffer(index, ItemPointerGetBlockNumber(from));
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    NodeHeader* node = FindNode(BufferGetPage(buf), from);
    if (!node) {
      UnlockReleaseBuffer(buf);
      return;
    }
    ItemPointerData* slots = NodeSlotsPtr(node, f.dims) + LevelSlotStart(f.m, level);
    int current = 0;
    bool same = node->level >= level;
    for (int i = 0; same && i < cap; ++i) {
      if (!ItemPointerIsValid(&slots[i])) continue;
      same = current < n && ItemPointerEquals(&slots[i], &links[current]);
      ++current;
    }
    if (same && current == n) {
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, buf, 0);
      node = FindNode(page, from);
      slots = NodeSlotsPtr(node, f.dims) + LevelSlotStart(f.m, level);
      for (int i = 0; i < cap; ++i) {
        if (i < count) {
          slots[i] = new_list[i];
        } else {
          ItemPointerSetInvalid(&slots[i]);
        }
      }
      GenericXLogFinish(state);
      UnlockReleaseBuffer(buf);
      return;
    }
    UnlockReleaseBuffer(buf);
  }
}

}  // namespace

void InsertNode(Relation index, const IndexFacts& facts_in, const float* vector, ItemPointer heap_tid) {
  IndexFacts f = facts_in;
  int level = core::DrawLevel(1.0 - pg_prng_double(&pg_global_prng_state), f.m, f.max_level);
  Size size = NodeTupleSize(f.dims, f.m, level);
  auto* node = static_cast<NodeHeader*>(palloc0(size));
  // The graph is searched with the prepared key; the node stores its code.
  auto* code = static_cast<float*>(palloc(VectorBytes(f.dims)));
  EncodeKey(f, vector, code);
  auto** links = static_cast<ItemPointerData**>(palloc0(sizeof(ItemPointerData*) * (level + 1)));
  int* nlinks = static_cast<int*>(palloc0(sizeof(int) * (level + 1)));

  if (!ItemPointerIsValid(&f.entry)) {
    // Empty index: become the entry point, holding the metapage so that two
    // first inserts cannot both think they are first.
    Buffer meta = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
    HnswMetaData* m = GetMeta(BufferGetPage(meta));
    if (!ItemPointerIsValid(&m->entry)) {
      FillNode(node, f, code, heap_tid, level, links, nlinks);
      ItemPointerData tid = AddNodeTuple(index, node, size);
      PromoteEntry(index, &tid, level, meta);
      UnlockReleaseBuffer(meta);
      return;
    }
    UnlockReleaseBuffer(meta);
    ReadFacts(index, &f);  // someone else was first: insert normally
  }

  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw insert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  DiskSearch s;
  SearchInit(&s, index, &f, vector, true, cxt);
  int top = level < f.entry_level ? level : f.entry_level;
  ItemPointerData start = SearchDescend(&s, top);
  if (!ItemPointerIsValid(&start)) {
    // Vacuum emptied the index meanwhile: insert into the empty index.
    MemoryContextSwitchTo(old);
    MemoryContextDelete(cxt);
    ReadFacts(index, &f);
    InsertNode(index, f, vector, heap_tid);
    return;
  }
  auto* found = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * f.ef_construction));
  auto* kept = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * 2 * f.m));
  auto* entries = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * f.ef_construction));
  int nentries = 1;
  entries[0] = start;
  for (int l = top; l >= 0; --l) {
    SearchStartLayer(&s, l, entries, nentries);
    int n = SearchBatch(&s, f.ef_construction, found);
    nentries = 0;
    int live = 0;
    for (int i = 0; i < n; ++i) {
      entries[nentries++] = s.nodes[found[i].id].tid;
      if (!s.nodes[found[i].id].deleted) found[live++] = found[i];
    }
    // Pair distances between found nodes, through their copied codes.
    auto code_of = [&s](uint32 id) -> const float* { return s.nodes[id].vector; };
    CodePairDistance<decltype(code_of)> pair(&f, code_of);
    size_t k = core::SelectNeighbors(found, live, pair, LevelSlotCount(f.m, l), kept);
    links[l] = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * k));
    for (size_t i = 0; i < k; ++i) links[l][i] = s.nodes[kept[i].id].tid;
    nlinks[l] = static_cast<int>(k);
  }

  FillNode(node, f, code, heap_tid, level, links, nlinks);
  ItemPointerData tid = AddNodeTuple(index, node, size);
  for (int l = top; l >= 0; --l) {
    for (int i = 0; i < nlinks[l]; ++i) LinkBack(index, f, &links[l][i], l, &tid, code);
  }
  if (level > f.entry_level) {
    Buffer meta = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
    PromoteEntry(index, &tid, level, meta);
    UnlockReleaseBuffer(meta);
  }
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
}

bool Insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
            IndexUniqueCheck check, bool index_unchanged, IndexInfo* info) {
  if (isnull[0]) return false;
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw aminsert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  IndexFacts facts;
  ReadFacts(index, &facts);
  auto* prepared = static_cast<float*>(palloc(VectorBytes(facts.query_words)));
  int key_dims;
  KeyStatus status = PrepareKey(facts, values[0], prepared, &key_dims);
  if (status == KeyStatus::kWrongDims) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %d dimensions, not %d", facts.key_dims, key_dims)));
  }
  if (status == KeyStatus::kOk) InsertNode(index, facts, prepared, heap_tid);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return false;
}

}  // namespace vecann::hnsw
