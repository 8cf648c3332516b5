// Finding, selecting and writing neighbours in the on-disk graph (see neighbors.h).
#include "hnsw/neighbors.h"

#include "core/select_neighbors.h"
#include "hnsw/pages.h"
#include "hnsw/search.h"

extern "C" {
#include "access/generic_xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/float.h"
#include "utils/memutils.h"
}

namespace vecann::hnsw {
namespace {

constexpr int kRelinkRetries = 8;

// How many nodes a level's search may visit, in multiples of ef_construction,
// while it looks for live nodes past a crowd of deleted ones (an ordinary
// search visits a few times ef_construction).
constexpr uint32 kVisitFactor = 64;

// Keeps the m nearest deleted nodes offered, nearest first.
void AddWaypoint(LevelCandidates* c, int m, const ItemPointerData* tid, float distance) {
  int n = c->nwaypoints;
  if (n == m && !(distance < c->waypoint_distances[n - 1])) return;
  int i = n < m ? n++ : n - 1;
  while (i > 0 && distance < c->waypoint_distances[i - 1]) {
    c->waypoints[i] = c->waypoints[i - 1];
    c->waypoint_distances[i] = c->waypoint_distances[i - 1];
    --i;
  }
  c->waypoints[i] = *tid;
  c->waypoint_distances[i] = distance;
  c->nwaypoints = n;
}

bool IsSelf(const ItemPointerData* tid, const ItemPointerData* self) {
  return self != nullptr && ItemPointerEquals(const_cast<ItemPointer>(tid), const_cast<ItemPointer>(self));
}

// The code of candidate i of a re-selection.
struct CodeArray {
  const float* const* codes;
  const float* operator()(uint32 i) const { return codes[i]; }
};

}  // namespace

void CandidatesInit(LevelCandidates* c, int capacity) {
  c->count = 0;
  c->capacity = capacity;
  c->nwaypoints = 0;
  c->waypoints = nullptr;
  c->waypoint_distances = nullptr;
  c->tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * capacity));
  c->codes = static_cast<const float**>(palloc(sizeof(float*) * capacity));
  c->cands = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * capacity));
}

void CandidatesAdd(LevelCandidates* c, const ItemPointerData* tid, const float* code, float distance) {
  if (c->count >= c->capacity) return;
  for (int i = 0; i < c->count; ++i) {
    if (ItemPointerEquals(&c->tids[i], const_cast<ItemPointer>(tid))) return;
  }
  c->tids[c->count] = *tid;
  c->codes[c->count] = code;
  c->cands[c->count] = core::Candidate{distance, static_cast<uint32>(c->count)};
  ++c->count;
}

bool FindNeighbors(Relation index, IndexFacts* f, const float* query, int top, const ItemPointerData* self,
                   LevelCandidates* out, KnownNodes* known, MemoryContext cxt) {
  DiskSearch s;
  SearchInit(&s, index, f, query, true, cxt);
  int ef = f->ef_construction;
  auto* batch = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * ef));
  // A level's entries: the descent's (at most core::kDescentBeam), then its batch
  // (at most ef) and, without live nodes, the waypoints (at most m).
  auto* entries = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * (Max(ef, core::kDescentBeam) + f->m)));
  int nentries = SearchDescend(&s, top, entries);
  if (nentries == 0) return false;
  ItemPointerData start = entries[0];
  s.live_only = true;
  for (int l = top; l >= 0; --l) {
    LevelCandidates* c = &out[l];
    CandidatesInit(c, ef);
    SearchStartLayer(&s, l, entries, nentries);
    s.visit_limit = s.nnodes + kVisitFactor * static_cast<uint32>(ef);
    int k = SearchBatch(&s, ef, batch);
    s.visit_limit = 0;
    nentries = 0;
    for (int i = 0; i < k; ++i) {
      const FoundNode& n = s.nodes[batch[i].id];
      entries[nentries++] = n.tid;
      if (n.level >= l && !IsSelf(&n.tid, self)) CandidatesAdd(c, &n.tid, n.vector, n.distance);
    }
    if (c->count == 0) {
      c->waypoints = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * f->m));
      c->waypoint_distances = static_cast<float*>(palloc(sizeof(float) * f->m));
      // No live node within reach at this level (VACUUM marked the region
      // deleted and has not removed it yet): the nearest deleted nodes met
      // will link to the new node, so that searches, which pass through
      // them, still find it. They never become its own links: those would
      // dangle once VACUUM removes them.
      for (uint32 id = s.layer_first; id < s.nnodes; ++id) {
        const FoundNode& n = s.nodes[id];
        if (n.missing || n.level < l || IsSelf(&n.tid, self)) continue;
        AddWaypoint(c, f->m, &n.tid, n.distance);
      }
      for (int i = 0; i < c->nwaypoints; ++i) entries[nentries++] = c->waypoints[i];
    }
    if (nentries == 0) entries[nentries++] = start;
  }
  if (known) {
    TidSetInit(&known->by_tid, s.nnodes, true, cxt);
    for (uint32 id = 0; id < s.nnodes; ++id) {
      if (!s.nodes[id].missing) TidSetAdd(&known->by_tid, &s.nodes[id].tid, id);
    }
    known->nodes = s.nodes;
  }
  return true;
}

int SelectLinks(const IndexFacts& f, LevelCandidates* c, int cap, ItemPointerData* out) {
  core::SortCandidates(c->cands, static_cast<size_t>(c->count));
  const float** codes = c->codes;
  auto code_of = [codes](uint32 id) -> const float* { return codes[id]; };
  CodePairDistance<decltype(code_of)> pair(&f, code_of);
  auto* chosen = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * cap));
  size_t k = core::SelectNeighbors(c->cands, static_cast<size_t>(c->count), pair, static_cast<size_t>(cap), chosen);
  for (size_t i = 0; i < k; ++i) out[i] = c->tids[chosen[i].id];
  pfree(chosen);
  return static_cast<int>(k);
}

bool LinkBack(Relation index, const IndexFacts& f, const ItemPointerData* from, int level, const ItemPointerData* to,
              const float* to_code, bool force, const KnownNodes* known) {
  int cap = core::MaxLinks(f.m, level);
  size_t n_words = static_cast<size_t>(f.query_words);
  auto* links = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
  auto* from_query = static_cast<float*>(palloc(WordBytes(f.query_words)));
  // Candidate vectors: the existing neighbours, then the new node; buffers
  // for those that must be read.
  auto** vectors = static_cast<const float**>(palloc(sizeof(float*) * (cap + 1)));
  auto** read = static_cast<float**>(palloc(sizeof(float*) * cap));
  for (int i = 0; i < cap; ++i) read[i] = static_cast<float*>(palloc(WordBytes(f.code_words)));
  auto* cands = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * (cap + 1)));
  auto* chosen = static_cast<core::Candidate*>(palloc(sizeof(core::Candidate) * cap));
  auto* new_list = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
  auto* stays = static_cast<bool*>(palloc(sizeof(bool) * (cap + 1)));

  for (int attempt = 0; attempt < kRelinkRetries; ++attempt) {
    CHECK_FOR_INTERRUPTS();
    NodeHeader header;
    float* from_vector;
    ItemPointerData* slots;
    if (!ReadWholeNode(index, f, from, &header, &from_vector, &slots, nullptr) || header.level < level) {
      return false;  // vacuum removed it meanwhile
    }
    const ItemPointerData* list = slots + LevelSlotStart(f.m, level);
    int n = 0;
    int free_slot = -1;
    for (int i = 0; i < cap; ++i) {
      if (!ItemPointerIsValid(&list[i])) {
        if (free_slot < 0) free_slot = i;
        continue;
      }
      if (ItemPointerEquals(const_cast<ItemPointer>(&list[i]), const_cast<ItemPointer>(to))) return true;
      links[n++] = list[i];
    }

    // The new list keeps the surviving links in their slots and puts the new
    // node in a free one, or where a dropped one was: the page changes by a
    // few bytes, and so does its WAL.
    memcpy(new_list, list, sizeof(ItemPointerData) * cap);
    if (free_slot >= 0) {
      new_list[free_slot] = *to;
    } else {
      const float* q = CodeAsQuery(f, from_vector, from_query);
      for (int i = 0; i < n; ++i) {
        // A neighbour vacuum removed or marked deleted sorts last and is
        // dropped first.
        uint32 k;
        bool gone;
        if (known && TidSetFind(&known->by_tid, &links[i], &k) && !known->nodes[k].deleted) {
          vectors[i] = known->nodes[k].vector;
          gone = false;
        } else {
          NodeHeader link_header;
          gone = ReadNode(index, f, &links[i], level, read[i], nullptr, &link_header) < 0 ||
                 (link_header.flags & kNodeDeleted);
          vectors[i] = read[i];
        }
        float d = gone ? get_float4_infinity() : f.distance(q, vectors[i], n_words);
        cands[i] = core::Candidate{d, static_cast<uint32>(i)};
      }
      vectors[n] = to_code;
      cands[n] = core::Candidate{f.distance(q, to_code, n_words), static_cast<uint32>(n)};
      core::SortCandidates(cands, n + 1);
      CodePairDistance<CodeArray> pair(&f, CodeArray{vectors});
      size_t kept = core::SelectNeighbors(cands, n + 1, pair, cap, chosen);
      memset(stays, 0, sizeof(bool) * (n + 1));
      for (size_t i = 0; i < kept; ++i) stays[chosen[i].id] = true;
      if (!stays[n]) {
        if (!force) return false;
        // Make room anyway: select again with the new node taken first, so
        // the heuristic drops the neighbour it can spare best (a link that a
        // kept one shadows), not the farthest one (often a link between
        // clusters that searches need).
        int pos = 0;
        while (cands[pos].id != static_cast<uint32>(n)) ++pos;
        core::Candidate first = cands[pos];
        memmove(cands + 1, cands, sizeof(core::Candidate) * pos);
        cands[0] = first;
        kept = core::SelectNeighbors(cands, n + 1, pair, cap, chosen);
        memset(stays, 0, sizeof(bool) * (n + 1));
        for (size_t i = 0; i < kept; ++i) stays[chosen[i].id] = true;
      }
      bool placed = false;
      for (int i = 0; i < n; ++i) {  // the list is full: slot i holds links[i]
        if (stays[i]) continue;
        if (!placed) {
          new_list[i] = *to;
          placed = true;
        } else {
          ItemPointerSetInvalid(&new_list[i]);
        }
      }
    }

    switch (RewriteSlots(index, f, from, level, level, list, new_list, nullptr)) {
      case RewriteResult::kWritten:
        return true;
      case RewriteResult::kGone:
        return false;
      case RewriteResult::kChanged:
        break;  // someone rewrote the list meanwhile: decide again
    }
  }
  return false;
}

void LinkBackAll(Relation index, const IndexFacts& f, const ItemPointerData* to, const float* to_code, int top,
                 ItemPointerData* const* links, const int* nlinks, const LevelCandidates* found,
                 const KnownNodes* known) {
  bool linked = false;
  for (int l = top; l >= 0; --l) {
    for (int i = 0; i < nlinks[l]; ++i) {
      bool in = LinkBack(index, f, &links[l][i], l, to, to_code, false, known);
      if (l == 0) linked |= in;
    }
    if (nlinks[l] == 0) {
      for (int i = 0; i < found[l].nwaypoints; ++i) {
        bool in = LinkBack(index, f, &found[l].waypoints[i], l, to, to_code, l == 0 && i == 0 && !linked, known);
        if (l == 0) linked |= in;
      }
    }
  }
  // Every node keeps an incoming link at level 0, from its nearest neighbour.
  if (!linked && nlinks[0] > 0) LinkBack(index, f, &links[0][0], 0, to, to_code, true, known);
}

RewriteResult RewriteSlots(Relation index, const IndexFacts& f, const ItemPointerData* tid, int first_level,
                           int last_level, const ItemPointerData* expected, const ItemPointerData* fresh,
                           BufferAccessStrategy strategy) {
  int first = LevelSlotStart(f.m, first_level);
  size_t slot_bytes = sizeof(ItemPointerData) * (LevelSlotStart(f.m, last_level) + core::MaxLinks(f.m, last_level) - first);
  Buffer buf = ReadNodeBuffer(index, ItemPointerGetBlockNumber(tid), strategy);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  NodeHeader* node = FindNode(index, f, BufferGetPage(buf), tid);
  RewriteResult result = RewriteResult::kGone;
  if (node && node->level >= last_level) {
    result = RewriteResult::kChanged;
    if (memcmp(NodeSlotsPtr(node, f.code_words) + first, expected, slot_bytes) == 0) {
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, buf, 0);
      node = FindNode(index, f, page, tid);
      memcpy(NodeSlotsPtr(node, f.code_words) + first, fresh, slot_bytes);
      GenericXLogFinish(state);
      result = RewriteResult::kWritten;
    }
  }
  UnlockReleaseBuffer(buf);
  return result;
}

bool ReadWholeNode(Relation index, const IndexFacts& f, const ItemPointerData* tid, NodeHeader* header, float** code,
                   ItemPointerData** slots, BufferAccessStrategy strategy) {
  Buffer buf = ReadNodeBuffer(index, ItemPointerGetBlockNumber(tid), strategy);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  const NodeHeader* node = FindNode(index, f, BufferGetPage(buf), tid);
  if (!node) {
    UnlockReleaseBuffer(buf);
    return false;
  }
  *header = *node;
  size_t slot_bytes = sizeof(ItemPointerData) * NodeSlots(f.m, node->level);
  *code = static_cast<float*>(palloc(WordBytes(f.code_words)));
  *slots = static_cast<ItemPointerData*>(palloc(slot_bytes));
  memcpy(*code, NodeCode(node), WordBytes(f.code_words));
  memcpy(*slots, NodeSlotsPtr(node, f.code_words), slot_bytes);
  UnlockReleaseBuffer(buf);
  return true;
}

void RelinkNode(Relation index, IndexFacts* f, const ItemPointerData* tid, MemoryContext cxt) {
  MemoryContext old = MemoryContextSwitchTo(cxt);
  NodeHeader header;
  float* code;
  ItemPointerData* slots;
  if (!ReadWholeNode(index, *f, tid, &header, &code, &slots, nullptr) || (header.flags & kNodeDeleted) ||
      !ItemPointerIsValid(&f->entry) || ItemPointerEquals(&f->entry, const_cast<ItemPointer>(tid))) {
    MemoryContextSwitchTo(old);
    return;
  }
  auto* query = static_cast<float*>(palloc(WordBytes(f->query_words)));
  const float* q = CodeAsQuery(*f, code, query);
  int top = header.level < f->entry_level ? header.level : f->entry_level;
  auto* cands = static_cast<LevelCandidates*>(palloc(sizeof(LevelCandidates) * (top + 1)));
  KnownNodes known;
  if (!FindNeighbors(index, f, q, top, tid, cands, &known, cxt)) {
    MemoryContextSwitchTo(old);
    return;
  }
  size_t slot_bytes = sizeof(ItemPointerData) * NodeSlots(f->m, header.level);
  auto* fresh = static_cast<ItemPointerData*>(palloc(slot_bytes));
  memcpy(fresh, slots, slot_bytes);
  auto** links = static_cast<ItemPointerData**>(palloc(sizeof(ItemPointerData*) * (top + 1)));
  int* nlinks = static_cast<int*>(palloc(sizeof(int) * (top + 1)));
  for (int l = 0; l <= top; ++l) {
    int cap = core::MaxLinks(f->m, l);
    links[l] = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
    nlinks[l] = SelectLinks(*f, &cands[l], cap, links[l]);
    if (nlinks[l] == 0) continue;  // nothing better found: keep the old list
    ItemPointerData* list = fresh + LevelSlotStart(f->m, l);
    for (int i = 0; i < cap; ++i) {
      if (i < nlinks[l]) {
        list[i] = links[l][i];
      } else {
        ItemPointerSetInvalid(&list[i]);
      }
    }
  }
  if (RewriteSlots(index, *f, tid, 0, header.level, slots, fresh, nullptr) != RewriteResult::kGone) {
    LinkBackAll(index, *f, tid, code, top, links, nlinks, cands, &known);
  }
  MemoryContextSwitchTo(old);
}

}  // namespace vecann::hnsw
