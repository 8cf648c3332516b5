// The HNSW layer search, the one every graph search runs: the in-memory build,
// the tests, and the on-disk index's scans, inserts and VACUUM repair.
// Header-only and Postgres-free. It works against a graph accessor (below),
// which reads nodes and owns every buffer: the search allocates nothing
// itself, keeps only trivially destructible state, and throws nothing unless
// the accessor does, so the Postgres glue may run it in frames that longjmp.
//
// A search keeps four arrays of (distance, id) candidates:
//   frontier  min-heap of visited nodes whose neighbours are not yet expanded
//   results   max-heap of the best `ef` result nodes of the current batch
//   spill     result nodes pushed out of `results` or never in them
//             (continuable searches only: kept for later batches; unsorted
//             during a batch, made a min-heap when the next one starts)
//   later     visited nodes that were no nearer than the worst result when
//             met (continuable searches only): this batch would never expand
//             them, so they join the frontier when the next batch starts
// Batch() is the classic layer search (Malkov & Yashunin, Algorithm 2): expand
// the nearest unexpanded node until it is farther than the worst of `ef`
// results. A continuable search can be called again and goes on where it
// stopped: `results` is refilled from `spill` and the frontier (which then
// keeps every visited node) is expanded further, so a scan returns rows past
// ef_search. Nodes the accessor says are no results (a deleted node on disk)
// are still expanded: they are waypoints.
//
// The accessor G provides:
//   using Ref = ...;                      how a neighbour list names a node
//   void NewLayer(int level);             a layer search starts: forget what
//                                         was visited (on every level)
//   bool FirstVisit(const Ref& r);        marks r visited; false if it was
//   size_t VisitMany(const Ref* refs, size_t n, Candidate* out,
//                    uint8_t* results);   reads the nodes refs[0 .. n) (each
//                                         visited for the first time; a page
//                                         accessor reads those on one page
//                                         together): out[i] gets the distance
//                                         to the query and the id candidates
//                                         carry, results[i] whether the node
//                                         may be a result. Returns n, or 0
//                                         when Stop() says the search ends
//   const Ref* Links(uint32_t id, size_t* n);
//                                         the node's neighbours at the layer
//                                         (valid until the next call)
//   Ref RefOf(uint32_t id);               a visited node's Ref
//   void Prefetch(const Ref& r);          r is about to be visited
//   void PrefetchLinks(uint32_t id);      id is likely to be expanded
//   bool Stop();                          asked before each expansion (and by
//                                         VisitMany): true ends the search
//   Candidate* Resize(Candidate* old, uint32_t size, uint32_t capacity);
//                                         a heap array with room for
//                                         `capacity` holding old's first
//                                         `size` entries (old may be null);
//                                         never returns null
// and the search borrows ExpansionBuffers from its caller.
#ifndef VECANN_CORE_LAYER_SEARCH_H_
#define VECANN_CORE_LAYER_SEARCH_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/hnsw_types.h"

namespace vecann::core {

// A heap of candidates in an array the accessor provides.
struct CandidateHeap {
  Candidate* data;
  uint32_t size;
  uint32_t capacity;
};

// Scratch of one expansion, each array with room for the longest list.
template <typename Ref>
struct ExpansionBuffers {
  Ref* fresh;         // neighbours not visited before
  Candidate* found;   // their candidates
  uint8_t* results;   // whether each may be a result
};

template <typename G>
class LayerSearch {
  static_assert(std::is_trivially_copyable_v<typename G::Ref>, "a Ref is copied like bytes");

 public:
  using Ref = typename G::Ref;

  // Binds the search to its accessor and scratch. A continuable search
  // keeps everything it visited for later batches. (An Init, not a
  // constructor: the glue keeps searches in memory Postgres allocates.)
  void Init(G* graph, ExpansionBuffers<Ref> buffers, bool continuable) {
    g_ = graph;
    buf_ = buffers;
    continuable_ = continuable;
    stopped_ = false;
    for (CandidateHeap& h : heaps_) h = CandidateHeap{nullptr, 0, 0};
  }

  // The candidate arrays, for the accessor to free when it owns them.
  static constexpr int kHeaps = 4;
  CandidateHeap* heaps() { return heaps_; }

  // Starts a search of `level` from the given nodes.
  void Start(int level, const Ref* entries, size_t n) {
    Frontier().size = Results().size = Spill().size = Later().size = 0;
    stopped_ = false;
    g_->NewLayer(level);
    for (size_t i = 0; i < n; ++i) {
      if (!g_->FirstVisit(entries[i])) continue;
      Candidate c;
      uint8_t result;
      if (g_->VisitMany(&entries[i], 1, &c, &result) == 0) {
        stopped_ = true;
        break;
      }
      PushMin(&Frontier(), c);
      if (result) Append(&Spill(), c);
    }
  }

  // Runs (or, when continuable, continues) the search with a list of `ef`
  // (0 counts as 1); writes up to ef result candidates to `out`, nearest
  // first, and returns how many. 0: nothing more is reachable, or stopped()
  // is true.
  size_t Batch(size_t ef, Candidate* out) {
    if (ef == 0) ef = 1;
    CandidateHeap& res = Results();
    CandidateHeap& front = Frontier();
    // What earlier batches set aside joins in: their far nodes the frontier,
    // and the nearest results left over from Start() or earlier batches
    // come first.
    CandidateHeap& later = Later();
    if (later.size > 0) {
      for (uint32_t i = 0; i < later.size; ++i) Append(&front, later.data[i]);
      later.size = 0;
      std::make_heap(front.data, front.data + front.size, CandidateGreater());
    }
    CandidateHeap& spill = Spill();
    std::make_heap(spill.data, spill.data + spill.size, CandidateGreater());
    while (res.size < ef && spill.size > 0) PushMax(&res, PopMin(&spill));
    if (!continuable_) spill.size = 0;

    while (front.size > 0) {
      const Candidate nearest = front.data[0];
      if (res.size >= ef && CandidateLess()(res.data[0], nearest)) break;
      if (g_->Stop()) {
        stopped_ = true;
        break;
      }
      PopMin(&front);
      size_t nl = 0;
      const Ref* links = g_->Links(nearest.id, &nl);
      size_t nf = 0;
      for (size_t j = 0; j < nl; ++j) {
        if (!g_->FirstVisit(links[j])) continue;
        buf_.fresh[nf++] = links[j];
        g_->Prefetch(links[j]);
      }
      if (nf == 0) continue;
      if (g_->VisitMany(buf_.fresh, nf, buf_.found, buf_.results) < nf) {
        stopped_ = true;
        break;
      }
      for (size_t j = 0; j < nf; ++j) Offer(buf_.found[j], buf_.results[j] != 0, ef);
    }

    const size_t n = res.size;
    std::sort_heap(res.data, res.data + n, CandidateLess());
    if (n > 0) std::memcpy(out, res.data, sizeof(Candidate) * n);
    res.size = 0;
    return n;
  }

  // Whether the accessor's Stop() ended the last batch.
  bool stopped() const { return stopped_; }

 private:
  CandidateHeap& Frontier() { return heaps_[0]; }
  CandidateHeap& Results() { return heaps_[1]; }
  CandidateHeap& Spill() { return heaps_[2]; }
  CandidateHeap& Later() { return heaps_[3]; }

  // A newly visited node: to the frontier and, if it is a result, to the
  // batch's results (or the spill). A search that does not continue keeps
  // neither a node that cannot enter the results nor what drops out of them.
  void Offer(Candidate c, bool result, size_t ef) {
    CandidateHeap& res = Results();
    const bool better = res.size < ef || CandidateLess()(c, res.data[0]);
    if (!continuable_) {
      if (!better) return;
      PushMin(&Frontier(), c);
      g_->PrefetchLinks(c.id);
      if (!result) return;
      PushMax(&res, c);
      if (res.size > ef) PopMax(&res);
      return;
    }
    if (!better) {
      Append(&Later(), c);
      if (result) Append(&Spill(), c);
      return;
    }
    PushMin(&Frontier(), c);
    if (!result) return;
    g_->PrefetchLinks(c.id);
    PushMax(&res, c);
    if (res.size > ef) Append(&Spill(), PopMax(&res));
  }

  void Reserve(CandidateHeap* h) {
    if (h->size < h->capacity) return;
    const uint32_t next = h->capacity ? h->capacity * 2 : 256;
    h->data = g_->Resize(h->data, h->size, next);
    h->capacity = next;
  }
  void Append(CandidateHeap* h, Candidate c) {
    Reserve(h);
    h->data[h->size++] = c;
  }
  void PushMin(CandidateHeap* h, Candidate c) {
    Reserve(h);
    h->data[h->size++] = c;
    std::push_heap(h->data, h->data + h->size, CandidateGreater());
  }
  static Candidate PopMin(CandidateHeap* h) {
    std::pop_heap(h->data, h->data + h->size, CandidateGreater());
    return h->data[--h->size];
  }
  void PushMax(CandidateHeap* h, Candidate c) {
    Reserve(h);
    h->data[h->size++] = c;
    std::push_heap(h->data, h->data + h->size, CandidateLess());
  }
  static Candidate PopMax(CandidateHeap* h) {
    std::pop_heap(h->data, h->data + h->size, CandidateLess());
    return h->data[--h->size];
  }

  // No default member initializers: the class stays trivial (Init sets all).
  G* g_;
  ExpansionBuffers<Ref> buf_;
  bool continuable_;
  bool stopped_;
  CandidateHeap heaps_[kHeaps];
};

// The descent through the upper levels keeps the nearest kDescentBeam nodes
// of each level (not only the nearest one: on clustered data a single greedy
// path through a sparse upper level is often trapped in the wrong cluster,
// more so after VACUUM thinned it) and starts the next level from all of them.
inline constexpr int kDescentBeam = 4;

// Descends from `entries` (n of them, at level `from`, where `search` has
// been started from them) down to level `target` + 1, and leaves in
// `entries` the nodes to start level `target` from (room for kDescentBeam),
// nearest first; returns how many (n when no level had anything nearer).
template <typename G>
size_t Descend(LayerSearch<G>* search, G* graph, int from, int target, typename G::Ref* entries, size_t n) {
  Candidate beam[kDescentBeam];
  for (int level = from; level > target; --level) {
    if (level < from) search->Start(level, entries, n);
    const size_t k = search->Batch(kDescentBeam, beam);
    if (search->stopped()) return n;
    if (k == 0) continue;  // keep the entries: nothing nearer at this level
    for (size_t i = 0; i < k; ++i) entries[i] = graph->RefOf(beam[i].id);
    n = k;
  }
  return n;
}

}  // namespace vecann::core

#endif  // VECANN_CORE_LAYER_SEARCH_H_
