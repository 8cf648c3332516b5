// aminsert for ivfflat: a new row joins the list of its nearest centroid, on
// the list's last page, or on a new page linked after it. WAL-logged with
// Generic WAL; the new page, the old last page's link and the centroid
// tuple's `last` change in one record, so a crash leaves either all three
// or none.
//
// Locks (layout.h): the common case takes the list's last page alone; when
// that page is full the insert starts over under the centroid page's
// exclusive lock, which makes it the only one extending the list, then
// locks the last page and the new one.
#include <cmath>

#include "ivfflat/ivfflat.h"

extern "C" {
#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
}

namespace vecann::ivfflat {
namespace {

// The list whose centroid is nearest to the prepared key (the lowest on ties).
int NearestList(Relation index, const IndexFacts& f, const float* prepared) {
  auto* d = static_cast<float*>(palloc(sizeof(float) * f.lists));
  CentroidDistances(index, f, prepared, d);
  int best = 0;
  for (int j = 1; j < f.lists; ++j) {
    if (d[j] < d[best] || (std::isnan(d[best]) && !std::isnan(d[j]))) best = j;
  }
  pfree(d);
  return best;
}

// Adds the item to the locked page with Generic WAL; false when it does not fit.
bool AddToPage(Relation index, Buffer buf, const ListTuple* item, size_t size) {
  if (PageGetFreeSpace(BufferGetPage(buf)) < MAXALIGN(size)) return false;
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, 0);
  if (PageAddItem(page, reinterpret_cast<Item>(const_cast<ListTuple*>(item)), size, InvalidOffsetNumber, false,
                  false) == InvalidOffsetNumber) {
    GenericXLogAbort(state);
    return false;
  }
  GenericXLogFinish(state);
  return true;
}

// The last page of `list` as its centroid tuple names it (the centroid page
// locked in `mode` meanwhile; kept locked when keep is set, in *cbuf).
BlockNumber LastPage(Relation index, const IndexFacts& f, int list, int mode, Buffer* cbuf) {
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  BlockNumber block = CentroidBlock(f, list);
  if (block >= nblocks) ReportCorrupted(index, "metapage", "Centroid page %u lies past the index's end.", block);
  *cbuf = ReadBuffer(index, block);
  LockBuffer(*cbuf, mode);
  return CentroidAt(index, f, BufferGetPage(*cbuf), block, list, &nblocks)->last;
}

void InsertRow(Relation index, const IndexFacts& f, const float* prepared, ItemPointer heap_tid) {
  int list = NearestList(index, f, prepared);
  size_t size = ListTupleSize(f.code_words);
  auto* item = static_cast<ListTuple*>(palloc0(size));
  item->heap_tid = *heap_tid;
  am::EncodeKey(f, prepared, CodeOf(item));

  // Fast path: the last page has room.
  Buffer cbuf;
  BlockNumber last = LastPage(index, f, list, BUFFER_LOCK_SHARE, &cbuf);
  UnlockReleaseBuffer(cbuf);
  Buffer buf = ReadBuffer(index, last);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  BlockNumber index_size = RelationGetNumberOfBlocks(index);
  CheckListPage(index, f, BufferGetPage(buf), last, &index_size);
  bool done = GetOpaque(BufferGetPage(buf))->next == InvalidBlockNumber && AddToPage(index, buf, item, size);
  UnlockReleaseBuffer(buf);
  if (done) return;

  // Slow path: under the centroid page's exclusive lock, the list's last
  // page (another insert may have extended the list meanwhile) or a new one.
  last = LastPage(index, f, list, BUFFER_LOCK_EXCLUSIVE, &cbuf);
  buf = ReadBuffer(index, last);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  CheckListPage(index, f, BufferGetPage(buf), last, &nblocks);
  if (GetOpaque(BufferGetPage(buf))->next != InvalidBlockNumber) {
    ReportCorrupted(index, "list", "Block %u, the last page of list %d, links to block %u.", last, list,
                    GetOpaque(BufferGetPage(buf))->next);
  }
  if (!AddToPage(index, buf, item, size)) {
    LockRelationForExtension(index, ExclusiveLock);
    Buffer nbuf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(nbuf, BUFFER_LOCK_EXCLUSIVE);
    UnlockRelationForExtension(index, ExclusiveLock);
    BlockNumber nblock = BufferGetBlockNumber(nbuf);
    GenericXLogState* state = GenericXLogStart(index);
    Page npage = GenericXLogRegisterBuffer(state, nbuf, GENERIC_XLOG_FULL_IMAGE);
    Page page = GenericXLogRegisterBuffer(state, buf, 0);
    Page cpage = GenericXLogRegisterBuffer(state, cbuf, 0);
    InitPage(npage, kPageList);
    if (PageAddItem(npage, reinterpret_cast<Item>(item), size, InvalidOffsetNumber, false, false) ==
        InvalidOffsetNumber) {
      GenericXLogAbort(state);
      elog(ERROR, "ivfflat list tuple of %zu bytes does not fit an empty page", size);
    }
    GetOpaque(page)->next = nblock;
    // The centroid tuple was checked under this lock (LastPage).
    auto* t = reinterpret_cast<CentroidTuple*>(PageGetItem(cpage, PageGetItemId(cpage, CentroidOffset(f, list))));
    t->last = nblock;
    GenericXLogFinish(state);
    UnlockReleaseBuffer(nbuf);
  }
  UnlockReleaseBuffer(buf);
  UnlockReleaseBuffer(cbuf);
}

}  // namespace

bool Insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation, IndexUniqueCheck, bool,
            IndexInfo*) {
  if (isnull[0]) return false;
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecann ivfflat insert", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  IndexFacts facts;
  ReadFacts(index, &facts);
  auto* prepared = static_cast<float*>(palloc(WordBytes(facts.query_words)));
  if (am::PrepareRowKey(facts, values[0], prepared)) InsertRow(index, facts, prepared, heap_tid);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
  return false;
}

}  // namespace vecann::ivfflat
