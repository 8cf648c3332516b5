// Best-first search over the on-disk graph (see search.h).
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

void* ArenaAlloc(DiskSearch* s, size_t bytes) {
  bytes = MAXALIGN(bytes);
  if (bytes > s->arena_left) {
    size_t chunk = bytes > kArenaChunk ? bytes : kArenaChunk;
    s->arena = static_cast<char*>(MemoryContextAlloc(s->cxt, chunk));
    s->arena_left = chunk;
  }
  void* p = s->arena;
  s->arena += bytes;
  s->arena_left -= bytes;
  return p;
}

// Makes room for one more element in a growable candidate array.
void Reserve(DiskSearch* s, core::Candidate** array, uint32 count, uint32* capacity) {
  if (count < *capacity) return;
  uint32 next = *capacity ? *capacity * 2 : 256;
  *array = *array ? static_cast<core::Candidate*>(repalloc_huge(*array, sizeof(core::Candidate) * next))
                  : static_cast<core::Candidate*>(MemoryContextAllocHuge(s->cxt, sizeof(core::Candidate) * next));
  *capacity = next;
}

void PushMin(DiskSearch* s, core::Candidate** heap, uint32* n, uint32* capacity, core::Candidate c) {
  Reserve(s, heap, *n, capacity);
  (*heap)[(*n)++] = c;
  std::push_heap(*heap, *heap + *n, core::CandidateGreater());
}

core::Candidate PopMin(core::Candidate* heap, uint32* n) {
  std::pop_heap(heap, heap + *n, core::CandidateGreater());
  return heap[--*n];
}

void PushMax(DiskSearch* s, core::Candidate c) {
  Reserve(s, &s->results, s->nresults, &s->results_capacity);
  s->results[s->nresults++] = c;
  std::push_heap(s->results, s->results + s->nresults, core::CandidateLess());
}

core::Candidate PopMax(DiskSearch* s) {
  std::pop_heap(s->results, s->results + s->nresults, core::CandidateLess());
  return s->results[--s->nresults];
}

// Reads the node at tid, records it in the found-node table; returns its index.
uint32 Visit(DiskSearch* s, const ItemPointerData* tid) {
  const IndexFacts& f = *s->facts;
  if (s->nnodes == s->nodes_capacity) {
    uint32 next = s->nodes_capacity ? s->nodes_capacity * 2 : 1024;
    s->nodes = s->nodes ? static_cast<FoundNode*>(repalloc_huge(s->nodes, sizeof(FoundNode) * next))
                        : static_cast<FoundNode*>(MemoryContextAllocHuge(s->cxt, sizeof(FoundNode) * next));
    s->nodes_capacity = next;
  }
  uint32 id = s->nnodes++;
  FoundNode* found = &s->nodes[id];
  found->tid = *tid;
  found->vector = s->keep_vectors ? static_cast<float*>(ArenaAlloc(s, VectorBytes(f.dims))) : nullptr;

  CHECK_FOR_INTERRUPTS();
  Buffer buf = ReadNodeBuffer(s->index, ItemPointerGetBlockNumberNoCheck(tid));
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  const NodeHeader* node = FindNode(s->index, f, BufferGetPage(buf), tid);
  if (!node) {
    // Vacuum removed the node after our copy of a link to it was taken: a
    // dead end (never returned, nothing to expand).
    UnlockReleaseBuffer(buf);
    found->distance = get_float4_infinity();
    found->error = 0;
    found->norm = 0;
    ItemPointerSetInvalid(&found->heap_tid);
    found->level = 0;
    found->deleted = true;
    found->missing = true;
    if (found->vector) memset(found->vector, 0, VectorBytes(f.dims));
    if (s->level == 0) ++s->level0_visits;
    return id;
  }
  CheckHeapTid(s->index, node, tid);
  const float* vec = NodeVector(node);
  found->distance = f.distance(s->query, vec, static_cast<size_t>(f.query_words));
  // Reduced codes carry their error and norm (for the scan's lower bounds).
  const bool reduced = f.decode != nullptr;
  found->error = reduced ? kernels::CodeError(f.storage, vec) : 0.0f;
  found->norm = reduced ? kernels::CodeNorm(f.storage, vec) : 0.0f;
  found->heap_tid = node->heap_tid;
  found->level = node->level;
  found->deleted = (node->flags & kNodeDeleted) != 0;
  found->missing = false;
  if (found->vector) memcpy(found->vector, vec, VectorBytes(f.dims));
  UnlockReleaseBuffer(buf);

  if (s->level == 0) ++s->level0_visits;
  return id;
}

// Offers a newly found node to the batch's results (or to the spill).
void Offer(DiskSearch* s, core::Candidate c, int ef) {
  if (s->live_only && s->nodes[c.id].deleted) return;  // a waypoint, not a result
  if (s->nresults < static_cast<uint32>(ef) || core::CandidateLess()(c, s->results[0])) {
    PushMax(s, c);
    if (s->nresults > static_cast<uint32>(ef)) {
      PushMin(s, &s->spill, &s->nspill, &s->spill_capacity, PopMax(s));
    }
  } else {
    PushMin(s, &s->spill, &s->nspill, &s->spill_capacity, c);
  }
}

}  // namespace

void SearchInit(DiskSearch* s, Relation index, IndexFacts* facts, const float* query, bool keep_vectors,
                MemoryContext cxt) {
  memset(s, 0, sizeof(*s));
  s->index = index;
  s->facts = facts;
  s->query = query;
  s->keep_vectors = keep_vectors;
  s->cxt = cxt;
  TidSetInit(&s->visited, 1024, false, cxt);
  s->expand_links =
      static_cast<ItemPointerData*>(MemoryContextAlloc(cxt, sizeof(ItemPointerData) * LevelSlotCount(facts->m, 0)));
}

void SearchStartLayer(DiskSearch* s, int level, const ItemPointerData* entries, int nentries) {
  s->level = level;
  s->layer_first = s->nnodes;
  s->nfrontier = s->nresults = s->nspill = 0;
  TidSetClear(&s->visited);
  for (int i = 0; i < nentries; ++i) {
    if (!TidSetAdd(&s->visited, &entries[i])) continue;
    uint32 id = Visit(s, &entries[i]);
    core::Candidate c{s->nodes[id].distance, id};
    PushMin(s, &s->frontier, &s->nfrontier, &s->frontier_capacity, c);
    if (!s->live_only || !s->nodes[id].deleted) PushMin(s, &s->spill, &s->nspill, &s->spill_capacity, c);
  }
}

int SearchBatch(DiskSearch* s, int ef, core::Candidate* out) {
  // The nearest nodes left over from earlier batches come first.
  while (s->nresults < static_cast<uint32>(ef) && s->nspill > 0) PushMax(s, PopMin(s->spill, &s->nspill));

  while (s->nfrontier > 0 && !s->limit_reached) {
    core::Candidate nearest = s->frontier[0];
    if (s->nresults >= static_cast<uint32>(ef) && core::CandidateLess()(s->results[0], nearest)) break;
    PopMin(s->frontier, &s->nfrontier);
    // The node's links are read now, not when it was visited: most visited
    // nodes are never expanded, and its page is still in cache.
    const FoundNode& expanded = s->nodes[nearest.id];
    if (expanded.missing || expanded.level < s->level) continue;
    ItemPointerData tid = expanded.tid;
    int nlinks = ReadNode(s->index, *s->facts, &tid, s->level, nullptr, s->expand_links, nullptr);
    // Start loading the pages of the neighbours to be visited, so that their
    // cache misses overlap instead of coming one after the other.
    for (int i = 0; i < nlinks; ++i) {
      if (!TidSetFind(&s->visited, &s->expand_links[i])) PrefetchNode(&s->expand_links[i]);
    }
    for (int i = 0; i < nlinks; ++i) {
      if (s->visit_limit != 0 && s->nnodes >= s->visit_limit) {
        s->limit_reached = true;
        break;
      }
      ItemPointerData next = s->expand_links[i];
      if (!TidSetAdd(&s->visited, &next)) continue;
      uint32 id = Visit(s, &next);
      core::Candidate c{s->nodes[id].distance, id};
      PushMin(s, &s->frontier, &s->nfrontier, &s->frontier_capacity, c);
      Offer(s, c, ef);
    }
  }

  int n = static_cast<int>(s->nresults);
  std::sort_heap(s->results, s->results + n, core::CandidateLess());
  memcpy(out, s->results, sizeof(core::Candidate) * n);
  s->nresults = 0;
  return n;
}

int SearchDescend(DiskSearch* s, int target, ItemPointerData* entries) {
  core::Candidate beam[kDescentBeam];
  // The descent follows the nearest nodes, deleted or not.
  bool live_only = s->live_only;
  s->live_only = false;
  for (;;) {
    entries[0] = s->facts->entry;
    int nentries = 1;
    int level = s->facts->entry_level;
    SearchStartLayer(s, level, entries, 1);
    if (s->nodes[s->nnodes - 1].missing) {
      // VACUUM moves the entry point off a deleted node before it removes
      // the node, so the metapage names another entry now (or none, if it
      // emptied the index). Still naming the vanished node, it is corrupt.
      ReadFacts(s->index, s->facts);
      if (!ItemPointerIsValid(&s->facts->entry)) {
        s->live_only = live_only;
        return 0;
      }
      if (ItemPointerEquals(&s->facts->entry, &entries[0])) {
        ReportCorrupted(s->index, "metapage", "The entry point (%u,%u) is not a node.",
                        ItemPointerGetBlockNumberNoCheck(&entries[0]), ItemPointerGetOffsetNumberNoCheck(&entries[0]));
      }
      continue;
    }
    for (; level > target; --level) {
      if (level < s->facts->entry_level) SearchStartLayer(s, level, entries, nentries);
      int k = SearchBatch(s, kDescentBeam, beam);
      if (k == 0) continue;  // keep the entries: nothing nearer at this level
      for (int i = 0; i < k; ++i) entries[i] = s->nodes[beam[i].id].tid;
      nentries = k;
    }
    s->live_only = live_only;
    return nentries;
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
  if (vector) memcpy(vector, NodeVector(node), VectorBytes(facts.dims));
  int n = 0;
  if (links && node->level >= level) {
    const ItemPointerData* src = NodeSlotsPtr(node, facts.dims) + LevelSlotStart(facts.m, level);
    for (int i = 0; i < LevelSlotCount(facts.m, level); ++i) {
      if (ItemPointerIsValid(&src[i])) links[n++] = src[i];
    }
  }
  UnlockReleaseBuffer(buf);
  return n;
}

}  // namespace vecann::hnsw
