// Checked access to index pages and node tuples (see pages.h), and the
// per-backend memory of which shared buffer held which index block.
#include "hnsw/pages.h"

#include <cstdarg>

extern "C" {
#include "storage/buf_internals.h"
#include "storage/bufmgr.h"
}

namespace vecann::hnsw {
namespace {

// Which shared buffer held each block of the index this backend read last
// (slot: the block number modulo the table's size), and how many blocks that
// index had. ReadRecentBuffer() revalidates a hint with a pin and a tag check
// (relation file, fork, block), skipping the buffer mapping table and its
// partition lock; a stale hint, one left by another index or by a block that
// shares the slot, just falls back to ReadBuffer(). So nothing in the table
// is trusted, and it needs no clearing when the backend moves to another
// index. Its size is fixed (256 kB of address space, touched 4 bytes per
// block used): indexes of up to 512 MB keep a hint for every block.
constexpr uint32 kHintSlots = 1u << 16;

struct RecentBuffers {
  pg::RelFile file;
  pg::RelOwner backend;
  bool known;
  BlockNumber nblocks;  // the index's size when last read
  Buffer buffers[kHintSlots];  // InvalidBuffer (0) until used
};
RecentBuffers recent;

void UseIndex(Relation index) {
  if (recent.known && pg::SameRelFile(recent.file, pg::RelationFile(index)) && recent.backend == index->rd_backend) {
    return;
  }
  recent.file = pg::RelationFile(index);
  recent.backend = index->rd_backend;
  recent.known = true;
  recent.nblocks = 0;
}

}  // namespace

PageKind NodePageKind(Page page) {
  if (PageIsNew(page)) return PageKind::kEmpty;
  auto* header = reinterpret_cast<PageHeader>(page);
  // The special space must be exactly ours before its page type is read.
  if (header->pd_special != BLCKSZ - MAXALIGN(sizeof(PageOpaque)) || header->pd_lower < SizeOfPageHeaderData ||
      header->pd_lower > header->pd_upper || header->pd_upper > header->pd_special) {
    return PageKind::kCorrupt;
  }
  return GetOpaque(page)->page_type == kPageNodes ? PageKind::kNodes : PageKind::kCorrupt;
}

bool CheckNodePage(Relation index, Page page, BlockNumber block) {
  PageKind kind = NodePageKind(page);
  if (kind == PageKind::kCorrupt) {
    auto* header = reinterpret_cast<PageHeader>(page);
    ReportCorrupted(index, "page", "Block %u is not a node page (special space at %u, lower %u, upper %u).", block,
                    header->pd_special, header->pd_lower, header->pd_upper);
  }
  return kind == PageKind::kNodes;
}

NodeStatus NodeAtStatus(const IndexFacts& f, Page page, OffsetNumber off, NodeHeader** node) {
  if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page)) return NodeStatus::kUnused;
  ItemId lp = PageGetItemId(page, off);
  if (!ItemIdIsNormal(lp)) return NodeStatus::kUnused;
  auto* header = reinterpret_cast<PageHeader>(page);
  size_t start = ItemIdGetOffset(lp), len = ItemIdGetLength(lp);
  if (start < header->pd_upper || start + len > header->pd_special || start != MAXALIGN(start) ||
      len < sizeof(NodeHeader)) {
    return NodeStatus::kCorrupt;
  }
  auto* n = reinterpret_cast<NodeHeader*>(PageGetItem(page, lp));
  if (n->level > f.max_level || len != NodeTupleSize(f.code_words, f.m, n->level)) return NodeStatus::kCorrupt;
  *node = n;
  return NodeStatus::kOk;
}

NodeHeader* NodeAt(Relation index, const IndexFacts& f, Page page, BlockNumber block, OffsetNumber off) {
  NodeHeader* node = nullptr;
  if (NodeAtStatus(f, page, off, &node) == NodeStatus::kCorrupt) {
    ItemId lp = PageGetItemId(page, off);
    ReportCorrupted(index, "node", "Item (%u,%u) has offset %u and length %u, which do not hold a node of this index.",
                    block, off, ItemIdGetOffset(lp), ItemIdGetLength(lp));
  }
  return node;
}

NodeHeader* FindNode(Relation index, const IndexFacts& f, Page page, const ItemPointerData* tid) {
  BlockNumber block = ItemPointerGetBlockNumberNoCheck(tid);
  if (!CheckNodePage(index, page, block)) return nullptr;
  return NodeAt(index, f, page, block, ItemPointerGetOffsetNumberNoCheck(tid));
}

void CheckNodeBlock(Relation index, BlockNumber block) {
  UseIndex(index);
  if (block != kMetaBlock && block < recent.nblocks) return;
  if (block != kMetaBlock) recent.nblocks = RelationGetNumberOfBlocks(index);
  if (block == kMetaBlock || block >= recent.nblocks) {
    ReportCorrupted(index, "link", "A link names block %u; node blocks are 1 to %u.", block,
                    recent.nblocks > 0 ? recent.nblocks - 1 : 0);
  }
}

void PrefetchNode(const ItemPointerData* tid) {
  BlockNumber block = ItemPointerGetBlockNumberNoCheck(tid);
  if (block == kMetaBlock || block >= recent.nblocks) return;
  Buffer buf = recent.buffers[block & (kHintSlots - 1)];
  if (buf <= 0 || buf > NBuffers) return;  // none, or a local buffer
  __builtin_prefetch(GetBufferDescriptor(buf - 1));
  const char* page = static_cast<const char*>(BufferGetBlock(buf));
  OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
  __builtin_prefetch(page);
  __builtin_prefetch(page + (SizeOfPageHeaderData + sizeof(ItemIdData) * (off > 0 ? off - 1 : 0)) % BLCKSZ);
  __builtin_prefetch(page + BLCKSZ - sizeof(PageOpaque));
}

Buffer ReadNodeBuffer(Relation index, BlockNumber block, BufferAccessStrategy strategy) {
  CheckNodeBlock(index, block);
  Buffer* hint = &recent.buffers[block & (kHintSlots - 1)];
  // Hints are shared by all indexes; ReadRecentBuffer compares the buffer's
  // tag, which has no backend: a temporary index's local buffer must never
  // stand for a block of a permanent index with the same relfilenode.
  if (*hint != InvalidBuffer && strategy == nullptr && BufferIsLocal(*hint) == RelationUsesLocalBuffers(index) &&
      ReadRecentBuffer(pg::RelationFile(index), MAIN_FORKNUM, block, *hint)) {
    return *hint;
  }
  Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
  *hint = buf;
  return buf;
}

void CheckHeapTid(Relation index, const NodeHeader* node, const ItemPointerData* node_tid) {
  // InvalidBlockNumber would make the table's ReadBuffer extend the table.
  if (!ItemPointerIsValid(&node->heap_tid) || ItemPointerGetBlockNumberNoCheck(&node->heap_tid) == InvalidBlockNumber) {
    ReportCorrupted(index, "node", "Node (%u,%u) names no table row.", ItemPointerGetBlockNumberNoCheck(node_tid),
                    ItemPointerGetOffsetNumberNoCheck(node_tid));
  }
}

}  // namespace vecann::hnsw
