// The on-disk graph accessor and the searches over it (see search.h).
#include "hnsw/search.h"

#include "hnsw/pages.h"

#include <algorithm>

extern "C" {
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {

namespace {

constexpr size_t kArenaChunk = 64 * 1024;

// Makes sure the arena has `bytes` left (a new chunk if not).
void ArenaReserve(DiskGraph* s, size_t bytes) {
  if (bytes <= s->arena_left) return;
  size_t chunk = bytes > kArenaChunk ? bytes : kArenaChunk;
  s->arena = static_cast<char*>(MemoryContextAllocHuge(s->cxt, chunk));
  s->arena_left = chunk;
}

void* ArenaAlloc(DiskGraph* s, size_t bytes) {
  bytes = MAXALIGN(bytes);
  ArenaReserve(s, bytes);
  void* p = s->arena;
  s->arena += bytes;
  s->arena_left -= bytes;
  return p;
}

}  // namespace

void DiskGraph::NewLayer(int new_level) {
  level = new_level;
  layer_first = nnodes;
  TidSetClear(&visited);
}

const ItemPointerData* DiskGraph::Links(uint32 id, size_t* n) {
  // The node's links are read now, not when it was visited: most visited
  // nodes are never expanded, and its page is still in cache.
  const FoundNode& expanded = nodes[id];
  *n = 0;
  if (expanded.missing || expanded.level < level) return expand_links;
  ItemPointerData tid = expanded.tid;
  int nlinks = ReadNode(index, *facts, &tid, level, nullptr, expand_links, nullptr);
  *n = nlinks > 0 ? static_cast<size_t>(nlinks) : 0;
  return expand_links;
}

// Starts loading the page of a neighbour about to be visited, so that the
// cache misses of one expansion overlap instead of coming one after another.
void DiskGraph::Prefetch(const ItemPointerData& tid) const { PrefetchNode(&tid); }

core::Candidate* DiskGraph::Resize(core::Candidate* old, uint32, uint32 capacity) const {
  Size bytes = sizeof(core::Candidate) * capacity;
  return static_cast<core::Candidate*>(old ? repalloc_huge(old, bytes) : MemoryContextAllocHuge(cxt, bytes));
}

// Records the node at tid, read from its page (share-locked; nullptr when
// CheckNodePage found no node page), in the found-node table; returns its
// index there.
uint32 DiskGraph::Record(Page page, const ItemPointerData& tid, float* distance, uint8* result) {
  const IndexFacts& f = *facts;
  uint32 id = nnodes++;  // room reserved by VisitMany
  FoundNode* found = &nodes[id];
  found->tid = tid;
  found->vector = keep_vectors ? static_cast<float*>(ArenaAlloc(this, WordBytes(f.code_words))) : nullptr;
  if (level == 0) ++level0_visits;

  const NodeHeader* node = page ? NodeAt(index, f, page, ItemPointerGetBlockNumberNoCheck(&tid),
                                         ItemPointerGetOffsetNumberNoCheck(&tid))
                                : nullptr;
  if (!node) {
    // Vacuum removed the node after our copy of a link to it was taken: a
    // dead end (never returned, nothing to expand).
    found->distance = get_float4_infinity();
    found->error = 0;
    found->norm = 0;
    ItemPointerSetInvalid(&found->heap_tid);
    found->level = 0;
    found->deleted = true;
    found->missing = true;
    if (found->vector) memset(found->vector, 0, WordBytes(f.code_words));
    *distance = found->distance;
    *result = 0;
    return id;
  }
  CheckHeapTid(index, node, &tid);
  const float* vec = NodeCode(node);
  found->distance = f.distance(query, vec, static_cast<size_t>(f.query_words));
  // Reduced codes carry their error and norm (for the scan's lower bounds).
  const bool reduced = f.decode != nullptr;
  found->error = reduced ? kernels::CodeError(f.storage, vec) : 0.0f;
  found->norm = reduced ? kernels::CodeNorm(f.storage, vec) : 0.0f;
  found->heap_tid = node->heap_tid;
  found->level = node->level;
  found->deleted = (node->flags & kNodeDeleted) != 0;
  found->missing = false;
  if (found->vector) memcpy(found->vector, vec, WordBytes(f.code_words));
  *distance = found->distance;
  *result = !(live_only && found->deleted);
  return id;
}

size_t DiskGraph::VisitMany(const ItemPointerData* refs, size_t n, core::Candidate* out, uint8* results) {
  if (Stop()) return 0;
  // Allocate before any page is locked: room for n more found nodes and
  // their vectors (the arena's next chunk is taken whole, so n vectors fit).
  if (nnodes + n > nodes_capacity) {
    uint32 next = Max(nodes_capacity * 2, 1024u);
    while (next < nnodes + n) next *= 2;
    nodes = nodes ? static_cast<FoundNode*>(repalloc_huge(nodes, sizeof(FoundNode) * next))
                  : static_cast<FoundNode*>(MemoryContextAllocHuge(cxt, sizeof(FoundNode) * next));
    nodes_capacity = next;
  }
  if (keep_vectors) ArenaReserve(this, n * MAXALIGN(WordBytes(facts->code_words)));
  // Nodes on one page are read under one pin and share lock. Lists hold at
  // most 2 * kOptionMaxM links (the metapage's m is checked).
  bool done[2 * kOptionMaxM];
  if (n > lengthof(done)) elog(ERROR, "hnsw: %zu neighbours to visit at once", n);
  memset(done, 0, sizeof(bool) * n);
  for (size_t i = 0; i < n; ++i) {
    if (done[i]) continue;
    BlockNumber block = ItemPointerGetBlockNumberNoCheck(&refs[i]);
    CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadNodeBuffer(index, block);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    // The page is checked once for all the nodes read from it.
    Page page = CheckNodePage(index, BufferGetPage(buf), block) ? BufferGetPage(buf) : nullptr;
    for (size_t j = i; j < n; ++j) {
      if (done[j] || ItemPointerGetBlockNumberNoCheck(&refs[j]) != block) continue;
      done[j] = true;
      out[j].id = Record(page, refs[j], &out[j].distance, &results[j]);
    }
    UnlockReleaseBuffer(buf);
  }
  return n;
}

void SearchInit(DiskSearch* s, Relation index, IndexFacts* facts, const float* query, bool keep_vectors,
                MemoryContext cxt) {
  memset(s, 0, sizeof(*s));
  s->index = index;
  s->facts = facts;
  s->query = query;
  s->keep_vectors = keep_vectors;
  s->cxt = cxt;
  TidSetInit(&s->visited, 1024, false, cxt);
  int max_links = core::MaxLinks(facts->m, 0);
  s->expand_links = static_cast<ItemPointerData*>(MemoryContextAlloc(cxt, sizeof(ItemPointerData) * max_links));
  core::ExpansionBuffers<ItemPointerData> buffers{
      static_cast<ItemPointerData*>(MemoryContextAlloc(cxt, sizeof(ItemPointerData) * max_links)),
      static_cast<core::Candidate*>(MemoryContextAlloc(cxt, sizeof(core::Candidate) * max_links)),
      static_cast<uint8*>(MemoryContextAlloc(cxt, max_links))};
  s->layer.Init(s, buffers, true);
}

void SearchStartLayer(DiskSearch* s, int level, const ItemPointerData* entries, int nentries) {
  s->layer.Start(level, entries, static_cast<size_t>(nentries));
}

int SearchBatch(DiskSearch* s, int ef, core::Candidate* out) {
  return static_cast<int>(s->layer.Batch(static_cast<size_t>(ef), out));
}

int SearchDescend(DiskSearch* s, int target, ItemPointerData* entries) {
  // The descent follows the nearest nodes, deleted or not, and is not
  // limited (so the entry point is always visited).
  bool live_only = s->live_only;
  uint32 visit_limit = s->visit_limit;
  s->live_only = false;
  s->visit_limit = 0;
  for (;;) {
    entries[0] = s->facts->entry;
    int level = s->facts->entry_level;
    s->layer.Start(level, entries, 1);
    if (s->nodes[s->nnodes - 1].missing) {
      // VACUUM moves the entry point off a deleted node before it removes
      // the node, so the metapage names another entry now (or none, if it
      // emptied the index). Still naming the vanished node, it is corrupt.
      ReadFacts(s->index, s->facts);
      if (!ItemPointerIsValid(&s->facts->entry)) {
        s->live_only = live_only;
        s->visit_limit = visit_limit;
        return 0;
      }
      if (ItemPointerEquals(&s->facts->entry, &entries[0])) {
        ReportCorrupted(s->index, "metapage", "The entry point (%u,%u) is not a node.",
                        ItemPointerGetBlockNumberNoCheck(&entries[0]), ItemPointerGetOffsetNumberNoCheck(&entries[0]));
      }
      continue;
    }
    size_t n = core::Descend(&s->layer, static_cast<DiskGraph*>(s), level, target, entries, 1);
    s->live_only = live_only;
    s->visit_limit = visit_limit;
    return static_cast<int>(n);
  }
}

int ReadNode(Relation index, const IndexFacts& facts, ItemPointer tid, int level, float* vector,
             ItemPointerData* links, NodeHeader* header) {
  CHECK_FOR_INTERRUPTS();
  Buffer buf = ReadNodeBuffer(index, ItemPointerGetBlockNumberNoCheck(tid));
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  const NodeHeader* node = FindNode(index, facts, BufferGetPage(buf), tid);
  if (!node) {
    UnlockReleaseBuffer(buf);
    return -1;
  }
  if (header) *header = *node;
  if (vector) memcpy(vector, NodeCode(node), WordBytes(facts.code_words));
  int n = 0;
  if (links && node->level >= level) {
    const ItemPointerData* src = NodeSlotsPtr(node, facts.code_words) + LevelSlotStart(facts.m, level);
    for (int i = 0; i < core::MaxLinks(facts.m, level); ++i) {
      if (ItemPointerIsValid(&src[i])) links[n++] = src[i];
    }
  }
  UnlockReleaseBuffer(buf);
  return n;
}

}  // namespace vecann::hnsw
