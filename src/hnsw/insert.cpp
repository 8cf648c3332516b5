// Inserting rows into the on-disk graph (aminsert, and the build's slow path).
//
// Lock protocol (the whole index follows it, so no deadlock is possible):
//   - at most one node page is content-locked at a time, and only while a
//     node is read, added or its neighbour list rewritten;
//   - the metapage may be locked before a node page (never after): the first
//     insert into an empty index holds it while it writes the entry node;
//   - neighbour lists are rewritten optimistically: read (share lock),
//     decide, then re-lock exclusively and write only if the list is still
//     what was read, else start over (bounded retries);
//   - an insert holds the heavyweight insert lock (kInsertLock) in share
//     mode throughout; VACUUM takes it exclusively, holding no buffer lock,
//     only to wait for the inserts in progress.
// Every page change is WAL-logged with Generic WAL.
#include "core/level.h"
#include "hnsw/hnsw.h"
#include "hnsw/neighbors.h"
#include "hnsw/pages.h"

extern "C" {
#include "access/generic_xlog.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "utils/float.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

// Fills a node tuple: header, vector code, and `level`+1 neighbour lists
// taken from links[l][0..nlinks[l]); unused slots invalid.
void FillNode(NodeHeader* node, const IndexFacts& f, const float* code, ItemPointer heap_tid, int level,
              ItemPointerData* const* links, const int* nlinks) {
  node->heap_tid = *heap_tid;
  node->level = static_cast<uint8>(level);
  node->flags = 0;
  memcpy(NodeCode(node), code, WordBytes(f.code_words));
  ItemPointerData* slots = NodeSlotsPtr(node, f.code_words);
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
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber blk = GetPageWithFreeSpace(index, need); blk != InvalidBlockNumber;) {
    // The free space map is only a hint: a block it names may be past the
    // end (a corrupt map: stop asking it), or not a node page.
    if (blk == kMetaBlock || blk >= nblocks) break;
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    bool node_page = NodePageKind(BufferGetPage(buf)) == PageKind::kNodes;
    bool added = node_page && AddToPage(index, buf, node, size, &tid);
    // A page that is not a node page offers no room: the map must not name it again.
    Size left = node_page ? PageGetFreeSpace(BufferGetPage(buf)) : 0;
    UnlockReleaseBuffer(buf);
    if (added) {
      RecordPageWithFreeSpace(index, blk, left);
      return tid;
    }
    blk = RecordAndGetPageWithFreeSpace(index, blk, left, need);
  }
  if (nblocks > 1) {
    Buffer buf = ReadBuffer(index, nblocks - 1);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    bool added = CheckNodePage(index, BufferGetPage(buf), nblocks - 1) && AddToPage(index, buf, node, size, &tid);
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
    SealMeta(meta);
    GenericXLogFinish(state);
  } else {
    GenericXLogAbort(state);
  }
}


// InsertNode's work, under the insert lock.
void InsertNodeLocked(Relation index, const IndexFacts& facts_in, const float* vector, ItemPointer heap_tid) {
  IndexFacts f = facts_in;
  int level = core::DrawLevel(1.0 - pg_prng_double(&pg_global_prng_state), f.m, f.max_level);
  Size size = NodeTupleSize(f.code_words, f.m, level);
  auto* node = static_cast<NodeHeader*>(palloc0(size));
  // The graph is searched with the prepared key; the node stores its code.
  auto* code = static_cast<float*>(palloc(WordBytes(f.code_words)));
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
  int top = level < f.entry_level ? level : f.entry_level;
  auto* cands = static_cast<LevelCandidates*>(palloc(sizeof(LevelCandidates) * (top + 1)));
  KnownNodes known;
  if (!FindNeighbors(index, &f, vector, top, nullptr, cands, &known, cxt)) {
    // Vacuum emptied the index meanwhile: insert into the empty index.
    MemoryContextSwitchTo(old);
    MemoryContextDelete(cxt);
    ReadFacts(index, &f);
    InsertNodeLocked(index, f, vector, heap_tid);
    return;
  }
  for (int l = top; l >= 0; --l) {
    links[l] = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * core::MaxLinks(f.m, l)));
    nlinks[l] = SelectLinks(f, &cands[l], core::MaxLinks(f.m, l), links[l]);
  }

  FillNode(node, f, code, heap_tid, level, links, nlinks);
  ItemPointerData tid = AddNodeTuple(index, node, size);
  LinkBackAll(index, f, &tid, code, top, links, nlinks, cands, &known);
  if (level > f.entry_level) {
    Buffer meta = ReadBuffer(index, kMetaBlock);
    LockBuffer(meta, BUFFER_LOCK_EXCLUSIVE);
    PromoteEntry(index, &tid, level, meta);
    UnlockReleaseBuffer(meta);
  }
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
}

}  // namespace

void InsertNode(Relation index, const IndexFacts& facts, const float* vector, ItemPointer heap_tid) {
  // Held from the search for neighbours to the last link written, so that
  // VACUUM can wait for every insert that may have chosen a node as a
  // neighbour before VACUUM marked it deleted (see vacuum.cpp).
  LockPage(index, kInsertLock, ShareLock);
  InsertNodeLocked(index, facts, vector, heap_tid);
  UnlockPage(index, kInsertLock, ShareLock);
}

bool Insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
            IndexUniqueCheck check, bool index_unchanged, IndexInfo* info) {
  if (isnull[0]) return false;
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann hnsw aminsert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  IndexFacts facts;
  ReadFacts(index, &facts);
  auto* prepared = static_cast<float*>(palloc(WordBytes(facts.query_words)));
  if (PrepareRowKey(facts, values[0], prepared)) InsertNode(index, facts, prepared, heap_tid);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return false;
}

}  // namespace vecann::hnsw
