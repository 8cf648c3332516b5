// VACUUM of an ivfflat index: every list page is read once, and the rows
// whose table row is gone are removed from it (Generic WAL, one record per
// page changed). Pages are not freed or merged: a list keeps its pages, and
// inserts refill only its last page, as in pgvector. One page lock at a time,
// so VACUUM never waits for an insert holding a centroid page.
#include "ivfflat/ivfflat.h"

extern "C" {
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
}

namespace vecann::ivfflat {
namespace {

// Visits each list page; with a callback, removes the rows it names.
void Sweep(IndexVacuumInfo* info, IndexBulkDeleteResult* stats, IndexBulkDeleteCallback callback, void* state) {
  Relation index = info->index;
  IndexFacts f;
  ReadFacts(index, &f);
  BufferAccessStrategy strategy = info->strategy;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  OffsetNumber dead[MaxOffsetNumber];
  double tuples = 0;
  for (BlockNumber block = kFirstCentroidBlock + f.centroid_pages; block < nblocks; ++block) {
    pg::VacuumDelayPoint();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
    LockBuffer(buf, callback ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    if (PageIsNew(page)) {  // left by a crash while an insert extended the index
      UnlockReleaseBuffer(buf);
      continue;
    }
    int items = CheckListPage(index, f, page, block, &nblocks);
    int ndead = 0;
    for (OffsetNumber off = FirstOffsetNumber; off <= items; ++off) {
      const ListTuple* t = RowAt(index, f, page, block, off);
      if (t == nullptr) continue;
      if (callback && callback(const_cast<ItemPointer>(&t->heap_tid), state)) {
        dead[ndead++] = off;
      } else {
        tuples += 1;
      }
    }
    if (ndead > 0) {
      GenericXLogState* xlog = GenericXLogStart(index);
      Page wpage = GenericXLogRegisterBuffer(xlog, buf, 0);
      PageIndexMultiDelete(wpage, dead, ndead);
      GenericXLogFinish(xlog);
      stats->tuples_removed += ndead;
    }
    UnlockReleaseBuffer(buf);
  }
  stats->num_pages = nblocks;
  stats->num_index_tuples = tuples;
  stats->estimated_count = false;
}

}  // namespace

IndexBulkDeleteResult* BulkDelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                  IndexBulkDeleteCallback callback, void* callback_state) {
  if (!stats) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  Sweep(info, stats, callback, callback_state);
  return stats;
}

IndexBulkDeleteResult* VacuumCleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only || stats) return stats;  // a bulk delete counted the rows
  stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  Sweep(info, stats, nullptr, nullptr);
  return stats;
}

}  // namespace vecann::ivfflat
