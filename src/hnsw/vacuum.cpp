// VACUUM support: ambulkdelete marks the nodes of removed rows deleted
// (WAL-logged); they stay in the graph as waypoints so that every other node
// stays reachable, and scans never return them. amvacuumcleanup reports the
// index's size and live node count.
#include "hnsw/hnsw.h"

extern "C" {
#include "access/generic_xlog.h"
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
}

namespace vecann::hnsw {
namespace {

// Walks every node page; marks nodes whose row `callback` reports dead (when
// given), and counts the nodes left live.
void WalkNodes(IndexVacuumInfo* info, IndexBulkDeleteResult* stats, IndexBulkDeleteCallback callback,
               void* callback_state) {
  Relation index = info->index;
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  stats->num_index_tuples = 0;
  for (BlockNumber blk = kMetaBlock + 1; blk < nblocks; ++blk) {
    vacuum_delay_point();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
    LockBuffer(buf, callback ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    OffsetNumber max = PageGetMaxOffsetNumber(page);
    GenericXLogState* state = nullptr;
    for (OffsetNumber off = FirstOffsetNumber; off <= max; ++off) {
      auto* node = reinterpret_cast<NodeHeader*>(PageGetItem(page, PageGetItemId(page, off)));
      if (node->flags & kNodeDeleted) continue;
      if (callback && callback(&node->heap_tid, callback_state)) {
        if (!state) {
          state = GenericXLogStart(index);
          page = GenericXLogRegisterBuffer(state, buf, 0);
          node = reinterpret_cast<NodeHeader*>(PageGetItem(page, PageGetItemId(page, off)));
        }
        node->flags |= kNodeDeleted;
        stats->tuples_removed += 1;
      } else {
        stats->num_index_tuples += 1;
      }
    }
    if (state) GenericXLogFinish(state);
    UnlockReleaseBuffer(buf);
  }
  stats->num_pages = nblocks;
}

}  // namespace

IndexBulkDeleteResult* BulkDelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                  IndexBulkDeleteCallback callback, void* callback_state) {
  if (!stats) stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  WalkNodes(info, stats, callback, callback_state);
  return stats;
}

IndexBulkDeleteResult* VacuumCleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  if (info->analyze_only) return stats;
  if (!stats) {
    // No bulk delete ran in this VACUUM: count the live nodes now.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    WalkNodes(info, stats, nullptr, nullptr);
  }
  return stats;
}

}  // namespace vecann::hnsw
