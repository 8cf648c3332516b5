// Reading index pages without trusting them. Every byte of an index may be
// corrupt (a bad disk, a bug, a hand-edited file), so every access to a node
// page, a node tuple or a link target goes through the checks here, and a
// violation is an ERROR with ERRCODE_INDEX_CORRUPTED naming the index and the
// place, never a read or write outside the page:
//   - a link's block is checked against the index's size before it is read
//     (a block past the end, including InvalidBlockNumber, which ReadBuffer
//     would take as "extend the relation");
//   - a node page must carry the node page type and the special space of one;
//     an all-zero page (left by a crash during an extension) holds no nodes;
//   - a node tuple's item must lie inside the page's tuple area, be aligned,
//     and have exactly the size its level gives (NodeTupleSize) with a level
//     no higher than the index's maximum.
// The metapage is checked in ReadFacts (facts.cpp).
#ifndef VECANN_HNSW_PAGES_H_
#define VECANN_HNSW_PAGES_H_

#include "am/corrupted.h"
#include "hnsw/hnsw.h"

extern "C" {
#include "storage/buf.h"
}

namespace vecann::hnsw {

using am::ReportCorrupted;

enum class PageKind { kNodes, kEmpty, kCorrupt };

// What a pinned and locked page is: a node page, an all-zero page (no nodes),
// or anything else (the metapage included: no link may lead there).
PageKind NodePageKind(Page page);

// Errors unless the page is a node page or all zeros; false for all zeros.
bool CheckNodePage(Relation index, Page page, BlockNumber block);

enum class NodeStatus { kOk, kUnused, kCorrupt };

// The node tuple at `off` of a node page (pinned, locked, checked): kUnused
// for an offset past the line pointer array or an unused line pointer, else
// kOk with *node set, or kCorrupt when the item is malformed.
NodeStatus NodeAtStatus(const IndexFacts& facts, Page page, OffsetNumber off, NodeHeader** node);

// The node tuple at `off`, nullptr when there is none; errors if malformed.
NodeHeader* NodeAt(Relation index, const IndexFacts& facts, Page page, BlockNumber block, OffsetNumber off);

// The node a link names, on its pinned and locked page: nullptr when there is
// none (a link copied before VACUUM removed its target, or into a page a
// crash left empty); errors when the page or the item is malformed.
NodeHeader* FindNode(Relation index, const IndexFacts& facts, Page page, const ItemPointerData* tid);

// Errors unless `block` is a node block of the index (1 <= block < size);
// the index's size is remembered per backend and re-read only when a block
// lies beyond it (indexes only grow).
void CheckNodeBlock(Relation index, BlockNumber block);

// Asks the CPU to start loading what visiting the node at tid will touch
// first (the buffer's descriptor, its page's header, line pointer and
// special space), when this backend remembers which shared buffer held the
// block. A hint only: nothing is pinned, locked or read, and a stale or wrong
// address costs a wasted prefetch, never a fault.
void PrefetchNode(const ItemPointerData* tid);

// Pins a node block after CheckNodeBlock, through a remembered buffer when
// that is still right (see pages.cpp).
Buffer ReadNodeBuffer(Relation index, BlockNumber block, BufferAccessStrategy strategy = nullptr);

// Errors unless a node's heap TID can name a row (offset >= 1, a block
// number other than InvalidBlockNumber).
void CheckHeapTid(Relation index, const NodeHeader* node, const ItemPointerData* node_tid);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_PAGES_H_
