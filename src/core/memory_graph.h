// The in-memory graph (HnswGraph over a row array) as the layer search's
// accessor (layer_search.h): used by the build, its reachability repair, and
// the tests. Postgres-free.
#ifndef VECANN_CORE_MEMORY_GRAPH_H_
#define VECANN_CORE_MEMORY_GRAPH_H_

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include "core/hnsw_graph.h"
#include "core/hnsw_types.h"
#include "core/layer_search.h"
#include "kernels/distance.h"

namespace vecann::core {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline void Prefetch(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 0, 3);
#else
  (void)p;
#endif
}

// One-byte spinlocks, one per node, guarding its lists while a concurrent
// build runs (no thread ever holds two). Null `flags`: nothing to lock.
struct NodeLocks {
  std::atomic<uint8_t>* flags = nullptr;
  void Lock(uint32_t node) const {
    if (flags == nullptr) return;
    std::atomic<uint8_t>& f = flags[node];
    unsigned spins = 0;
    while (f.exchange(1, std::memory_order_acquire) != 0) {
      while (f.load(std::memory_order_relaxed) != 0) {
        if (++spins < 64) {
          CpuRelax();
        } else {
          std::this_thread::yield();  // the holder may be descheduled
        }
      }
    }
  }
  void Unlock(uint32_t node) const {
    if (flags != nullptr) flags[node].store(0, std::memory_order_release);
  }
};

// The rows a graph is built over: `stride` words each in the caller's stored
// form, compared with a float32 query of `dim` values.
struct Rows {
  const float* base;
  size_t stride;
  size_t dim;
  kernels::DistanceFn dist;
  const float* Row(uint32_t id) const { return base + static_cast<size_t>(id) * stride; }
  float Dist(const float* query, uint32_t id) const { return dist(query, Row(id), dim); }
};

// Epoch-tagged visited set over node ids: starting a new search is O(1)
// (bump the epoch); the tags are cleared once in 2^32 - 1 searches (an
// insert starts one search per level it passes, so a 16-bit epoch would
// wrap, and clear n tags, every ~10,000 inserts).
class VisitedSet {
 public:
  void Init(size_t n) {
    tags_.assign(n, 0);
    epoch_ = 0;
  }
  void NewEpoch() {
    if (++epoch_ == 0) {
      std::fill(tags_.begin(), tags_.end(), uint32_t{0});
      epoch_ = 1;
    }
  }
  // Marks id visited; returns whether it already was.
  bool TestAndSet(uint32_t id) {
    uint32_t& t = tags_[id];
    if (t == epoch_) return true;
    t = epoch_;
    return false;
  }

 private:
  std::vector<uint32_t> tags_;
  uint32_t epoch_ = 0;
};

// The accessor. Node ids are row numbers. Lists are copied under the node's
// lock into `links` (room for 2m ids). `exclude` (or kInvalidId) is never
// visited: the node being inserted. `stop`, when set, is asked every
// kStopCheckEvery expansions.
class MemoryGraph {
 public:
  using Ref = uint32_t;
  static constexpr unsigned kStopCheckEvery = 64;

  MemoryGraph(const HnswGraph* graph, const Rows& rows, NodeLocks locks) : graph_(graph), rows_(rows), locks_(locks) {
    visited_.Init(graph->size());
    links_.resize(static_cast<size_t>(MaxLinks(graph->m(), 0)));
  }
  ~MemoryGraph() = default;
  MemoryGraph(const MemoryGraph&) = delete;
  MemoryGraph& operator=(const MemoryGraph&) = delete;

  // Sets what the next searches look for.
  void SetQuery(const float* query, uint32_t exclude) {
    query_ = query;
    exclude_ = exclude;
  }
  void SetStop(bool (*stop)(void*), void* ctx) {
    stop_ = stop;
    stop_ctx_ = ctx;
  }
  size_t max_links() const { return links_.size(); }

  // --- the accessor interface of layer_search.h ---
  void NewLayer(int level) {
    level_ = level;
    visited_.NewEpoch();
    if (exclude_ != kInvalidId) visited_.TestAndSet(exclude_);
  }
  bool FirstVisit(uint32_t id) { return !visited_.TestAndSet(id); }
  size_t VisitMany(const uint32_t* ids, size_t n, Candidate* out, uint8_t* results) {
    for (size_t i = 0; i < n; ++i) {
      out[i] = Candidate{rows_.Dist(query_, ids[i]), ids[i]};
      results[i] = 1;
    }
    return n;
  }
  const uint32_t* Links(uint32_t id, size_t* n) {
    locks_.Lock(id);
    int c = 0;
    const uint32_t* list = graph_->neighbors(id, level_, &c);
    std::memcpy(links_.data(), list, static_cast<size_t>(c) * sizeof(uint32_t));
    locks_.Unlock(id);
    *n = static_cast<size_t>(c);
    return links_.data();
  }
  uint32_t RefOf(uint32_t id) const { return id; }
  void Prefetch(uint32_t id) const { core::Prefetch(rows_.Row(id)); }
  void PrefetchLinks(uint32_t id) const { core::Prefetch(graph_->list_address(id, level_)); }
  bool Stop() {
    if (stop_ == nullptr || ++calls_ % kStopCheckEvery != 0) return false;
    return stop_(stop_ctx_);
  }
  Candidate* Resize(Candidate* old, uint32_t, uint32_t capacity) {
    void* p = std::realloc(old, sizeof(Candidate) * capacity);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<Candidate*>(p);
  }

 private:
  const HnswGraph* graph_;
  const Rows rows_;
  const NodeLocks locks_;
  VisitedSet visited_;
  std::vector<uint32_t> links_;
  const float* query_ = nullptr;
  uint32_t exclude_ = kInvalidId;
  int level_ = 0;
  bool (*stop_)(void*) = nullptr;
  void* stop_ctx_ = nullptr;
  unsigned calls_ = 0;
};

// A layer search over a MemoryGraph, owning the search's buffers.
class MemorySearch {
 public:
  MemorySearch(const HnswGraph* graph, const Rows& rows, NodeLocks locks, bool continuable)
      : graph_(graph, rows, locks), fresh_(graph_.max_links()), found_(graph_.max_links()),
        results_(graph_.max_links()) {
    search_.Init(&graph_, ExpansionBuffers<uint32_t>{fresh_.data(), found_.data(), results_.data()}, continuable);
  }
  ~MemorySearch() {
    for (int i = 0; i < LayerSearch<MemoryGraph>::kHeaps; ++i) std::free(search_.heaps()[i].data);
  }
  MemorySearch(const MemorySearch&) = delete;
  MemorySearch& operator=(const MemorySearch&) = delete;

  MemoryGraph& graph() { return graph_; }
  LayerSearch<MemoryGraph>& search() { return search_; }

 private:
  MemoryGraph graph_;
  std::vector<uint32_t> fresh_;
  std::vector<Candidate> found_;
  std::vector<uint8_t> results_;
  LayerSearch<MemoryGraph> search_;
};

}  // namespace vecann::core

#endif  // VECANN_CORE_MEMORY_GRAPH_H_
