// Concurrent in-memory HNSW build (Malkov & Yashunin, with hnswlib-style
// fine-grained locking). Its searches are the shared layer search
// (layer_search.h) over the in-memory accessor (memory_graph.h).
//
// Concurrency model of the build:
//   - every node's neighbour lists (all levels) are guarded by a one-byte
//     spinlock of that node; every read of a list during the build copies it
//     under that lock, every write happens under it; no thread ever holds two
//     node locks at once, so there is no lock order to get wrong;
//   - the entry point and the top level are guarded by `global_`; a thread
//     inserting a node above the current top level keeps `global_` for the
//     whole insertion (rare: about n / m^top times), like hnswlib;
//   - levels, vectors and list offsets are read-only once threads start.
// Worker threads run only this file's code: no callbacks, no signals (all
// blocked), no Postgres. The calling thread inserts nodes too and is the only
// one that calls the poll callback.
#include "core/hnsw_build.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <thread>

#include "core/layer_search.h"
#include "core/level.h"
#include "core/memory_graph.h"
#include "core/select_neighbors.h"

namespace vecann::core {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr int kMaxThreads = 256;
inline void PrefetchForWrite(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 1, 3);
#else
  (void)p;
#endif
}

// Per-thread buffers, sized once so the hot loops rarely allocate.
struct Scratch {
  std::unique_ptr<MemorySearch> search;
  std::vector<Candidate> result;    // a layer search's ef best, nearest first
  std::vector<uint32_t> entry;      // entry points of the next layer's search
  std::vector<Candidate> selected;  // neighbours chosen for the node being inserted
  std::vector<uint8_t> selected_kept;
  std::vector<Candidate> pool;  // candidates of a re-selection
  std::vector<uint8_t> pool_kept;
  std::vector<Candidate> picked;  // output of a re-selection
  std::vector<uint8_t> picked_kept;
  // Rows in a coded form are decoded to float32 to be used as a query: one
  // buffer for the node being inserted, one (with its id) for pair distances.
  std::vector<float> query;
  std::vector<float> pair_query;
  uint32_t pair_query_id = kInvalidId;
  bool is_caller = false;
  internal::GraphBuilder* builder = nullptr;

  void Init(const HnswGraph* g, const Rows& rows, NodeLocks locks, size_t ef) {
    const size_t max_links = static_cast<size_t>(MaxLinks(g->m(), 0));
    search = std::make_unique<MemorySearch>(g, rows, locks, false);
    result.resize(ef);
    entry.resize(std::max<size_t>(ef, kDescentBeam));
    selected.resize(max_links);
    selected_kept.resize(max_links);
    pool.resize(2 * max_links + 2);
    pool_kept.resize(2 * max_links + 2);
    picked.resize(max_links);
    picked_kept.resize(max_links);
    pair_query_id = kInvalidId;
  }
};

}  // namespace

namespace internal {

class GraphBuilder {
 public:
  GraphBuilder(const float* rows, size_t n, const RowFormat& format, const BuildOptions& opts,
               HnswGraph* g)
      : rows_{rows, format.row_words, format.dim, format.dist},
        decode_(format.decode),
        n_(n),
        opts_(opts),
        g_(g) {}

  Status Run();

 private:
  float Dist(const float* query, uint32_t b) const { return rows_.Dist(query, b); }
  // Node id as a float32 query: its row itself, or the row decoded into buf.
  const float* QueryOf(uint32_t id, std::vector<float>& buf) const {
    if (decode_ == nullptr) return rows_.Row(id);
    buf.resize(rows_.dim);
    decode_(rows_.Row(id), buf.data(), rows_.dim);
    return buf.data();
  }
  // Distance between two nodes (a as the query). The neighbour heuristic asks
  // for many pairs with the same a in a row, so a's decoded form is kept.
  float PairDist(uint32_t a, uint32_t b, Scratch& s) const {
    if (decode_ == nullptr) return rows_.Dist(rows_.Row(a), b);
    if (s.pair_query_id != a) {
      QueryOf(a, s.pair_query);
      s.pair_query_id = a;
    }
    return rows_.Dist(s.pair_query.data(), b);
  }

  Status Allocate();
  void RunLoop(Scratch& s);
  void RepairReachability(Scratch& s);
  bool Flood(std::vector<uint8_t>& reach, std::vector<uint32_t>& queue, size_t head, Scratch& s);
  void Insert(uint32_t q, Scratch& s);
  void SetOwnLinks(uint32_t q, int level, const Candidate* sel, const uint8_t* sel_kept, size_t ns,
                   Scratch& s);
  void AddBackLink(uint32_t e, uint32_t q, float d, int level, Scratch& s);
  // Hint that the lists (ids and slot meta) of `node` at `level` will be updated.
  void PrefetchForUpdate(uint32_t node, int level) {
    const uint32_t* list = g_->List(node, level);
    PrefetchForWrite(list);
    PrefetchForWrite(list + 16);
    const SlotMeta meta = Meta(node, level);
    PrefetchForWrite(meta.dist);
    PrefetchForWrite(meta.dist + 16);
    PrefetchForWrite(meta.kept);
  }

  void Lock(uint32_t node) const { NodeLocks{locks_.get()}.Lock(node); }
  void Unlock(uint32_t node) const { NodeLocks{locks_.get()}.Unlock(node); }

  // Calling thread only: runs the poll callback; returns the stop flag.
  bool Poll() {
    last_poll_ = Clock::now();
    if (opts_.poll != nullptr && !cancelled_ &&
        opts_.poll(opts_.poll_ctx, done_.load(std::memory_order_relaxed))) {
      cancelled_ = true;
      stop_.store(true, std::memory_order_relaxed);
    }
    return stop_.load(std::memory_order_relaxed);
  }
  // Any thread, from hot loops: polls when due (calling thread only) and
  // returns whether the build must stop.
  bool ShouldStop(const Scratch& s) {
    if (s.is_caller && Clock::now() - last_poll_ >= kPollInterval) Poll();
    return stop_.load(std::memory_order_relaxed);
  }
  // The layer searches' stop callback (ctx: the thread's Scratch).
  static bool SearchShouldStop(void* ctx) {
    Scratch* s = static_cast<Scratch*>(ctx);
    return s->builder->ShouldStop(*s);
  }
  void Fail(Status st) {
    int expected = static_cast<int>(Status::kOk);
    error_.compare_exchange_strong(expected, static_cast<int>(st));
    stop_.store(true, std::memory_order_relaxed);
  }

  const Rows rows_;
  const kernels::DecodeFn decode_;
  const size_t n_;
  const BuildOptions& opts_;
  HnswGraph* const g_;
  int m_ = 0;
  size_t ef_construction_ = 0;
  bool concurrent_ = false;

  // Per list slot, beside the graph's ids (same layout without the count
  // word): the distance to the list's owner and the heuristic's pass-1 flag,
  // so adding a link to a full list rarely needs any distance computation
  // beyond a few pair distances (see AddNeighbor). Guarded by the node locks.
  struct SlotMeta {
    float* dist;
    uint8_t* kept;
  };
  SlotMeta Meta(uint32_t node, int level) {
    if (level == 0) {
      const size_t off = static_cast<size_t>(node) * 2 * static_cast<size_t>(m_);
      return SlotMeta{&dist0_[off], &kept0_[off]};
    }
    const size_t off =
        (static_cast<size_t>(g_->upper_offset_[node]) + (level - 1)) * static_cast<size_t>(m_);
    return SlotMeta{&dist_up_[off], &kept_up_[off]};
  }
  std::vector<float> dist0_, dist_up_;
  std::vector<uint8_t> kept0_, kept_up_;

  std::unique_ptr<std::atomic<uint8_t>[]> locks_;  // one per node
  std::mutex global_;                              // guards entry_ and top_
  uint32_t entry_ = kInvalidId;
  int top_ = -1;

  std::atomic<size_t> next_{0};  // next node to insert
  std::atomic<size_t> done_{0};  // nodes inserted
  std::atomic<bool> stop_{false};
  std::atomic<int> error_{static_cast<int>(Status::kOk)};

  // Calling thread only.
  bool cancelled_ = false;
  Clock::time_point last_poll_;

  std::mutex exit_mu_;  // guards active_
  std::condition_variable exit_cv_;
  int active_ = 0;  // worker threads still running
};

Status GraphBuilder::Allocate() {
  g_->m_ = m_;
  g_->levels_.resize(n_);
  g_->upper_offset_.resize(n_);
  std::mt19937_64 rng(opts_.seed);
  size_t blocks = 0;
  for (size_t i = 0; i < n_; ++i) {
    const int l = DrawLevel(UniformFromBits(rng()), m_, kMaxLevel);
    g_->levels_[i] = static_cast<uint8_t>(l);
    g_->upper_offset_[i] = static_cast<uint32_t>(blocks);
    blocks += static_cast<size_t>(l);
    if (blocks > UINT32_MAX) return Status::kOutOfMemory;
  }
  const size_t up_stride = g_->UpperStride();
  const size_t l0_stride = g_->Level0Stride();
  if (n_ > SIZE_MAX / sizeof(uint32_t) / l0_stride) return Status::kOutOfMemory;
  g_->upper_.assign(blocks * up_stride, 0);
  g_->level0_.assign(n_ * l0_stride, 0);
  dist0_.resize(n_ * (l0_stride - 1));
  kept0_.resize(n_ * (l0_stride - 1));
  dist_up_.resize(blocks * (up_stride - 1));
  kept_up_.resize(blocks * (up_stride - 1));
  if (concurrent_) locks_.reset(new std::atomic<uint8_t>[n_]());
  return Status::kOk;
}

Status GraphBuilder::Run() {
  m_ = opts_.params.m;
  ef_construction_ = static_cast<size_t>(std::max(opts_.params.ef_construction, m_));
  int threads = std::max(1, std::min(opts_.threads, kMaxThreads));
  if (static_cast<size_t>(threads) > n_) threads = static_cast<int>(n_);
  concurrent_ = threads > 1;

  std::vector<std::unique_ptr<Scratch>> scratch;
  try {
    const Status st = Allocate();
    if (st != Status::kOk) return st;
    for (int t = 0; t < threads; ++t) {
      scratch.push_back(std::make_unique<Scratch>());
      Scratch* sc = scratch.back().get();
      sc->Init(g_, rows_, NodeLocks{locks_.get()}, ef_construction_);
      sc->builder = this;
      sc->search->graph().SetStop(&GraphBuilder::SearchShouldStop, sc);
    }
  } catch (...) {  // std::bad_alloc, std::length_error
    return Status::kOutOfMemory;
  }
  scratch[0]->is_caller = true;

  entry_ = 0;
  top_ = g_->levels_[0];
  next_.store(1);
  done_.store(1);
  if (Poll()) return Status::kCancelled;

  std::vector<std::thread> workers;
  if (threads > 1) {
    try {
      workers.reserve(static_cast<size_t>(threads - 1));
    } catch (...) {
      threads = 1;  // build on the calling thread alone
    }
    // Threads inherit the signal mask: block everything while creating them
    // so that no signal meant for the backend is ever delivered to a worker.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int t = 1; t < threads; ++t) {
      Scratch* s = scratch[t].get();
      {
        std::lock_guard<std::mutex> lk(exit_mu_);
        ++active_;
      }
      try {
        workers.emplace_back([this, s] {
          RunLoop(*s);
          std::lock_guard<std::mutex> lk(exit_mu_);
          --active_;
          exit_cv_.notify_all();
        });
      } catch (...) {  // std::system_error: fewer threads, same result
        std::lock_guard<std::mutex> lk(exit_mu_);
        --active_;
        break;
      }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  RunLoop(*scratch[0]);

  // Wait for the workers, still polling so that a cancel is honoured while
  // they finish the last nodes.
  try {
    std::unique_lock<std::mutex> lk(exit_mu_);
    while (active_ > 0) {
      exit_cv_.wait_for(lk, kPollInterval);
      if (active_ == 0) break;
      lk.unlock();
      if (Clock::now() - last_poll_ >= kPollInterval) Poll();
      lk.lock();
    }
  } catch (...) {
    Fail(Status::kOutOfMemory);
  }
  for (std::thread& w : workers) w.join();

  const Status err = static_cast<Status>(error_.load());
  if (err != Status::kOk) return err;
  if (cancelled_) return Status::kCancelled;
  g_->entry_point_ = entry_;
  g_->max_level_ = top_;

  // Single-threaded from here on. The slot meta is no longer needed: free it
  // (and the workers' scratch) before the connectivity repair allocates.
  std::vector<float>().swap(dist0_);
  std::vector<float>().swap(dist_up_);
  std::vector<uint8_t>().swap(kept0_);
  std::vector<uint8_t>().swap(kept_up_);
  scratch.resize(1);
  try {
    RepairReachability(*scratch[0]);
  } catch (...) {
    return Status::kOutOfMemory;
  }
  if (cancelled_ || Poll()) return Status::kCancelled;
  return Status::kOk;
}

// Marks in `reach` every node reachable at level 0 from the nodes already in
// queue[head ..), appending them to `queue`. Returns false when told to stop.
bool GraphBuilder::Flood(std::vector<uint8_t>& reach, std::vector<uint32_t>& queue, size_t head,
                         Scratch& s) {
  for (; head < queue.size(); ++head) {
    if ((head & 0xFFFF) == 0 && ShouldStop(s)) return false;
    int c = 0;
    const uint32_t* nb = g_->neighbors(queue[head], 0, &c);
    for (int i = 0; i < c; ++i) {
      if (!reach[nb[i]]) {
        reach[nb[i]] = 1;
        queue.push_back(nb[i]);
      }
    }
  }
  return true;
}

// Heuristic pruning can leave a node with no incoming link at level 0 (all its
// in-links were replaced by closer ones), most of all with many equal vectors;
// searches could then never return it. For each such node u, find reachable
// nodes near u with a search from the entry point and link the nearest one
// that can spare a slot to u: a free slot, else the slot of a neighbour that
// has other in-links (the one with the most). Rounds repeat the check in case
// a replaced neighbour lost its last path.
void GraphBuilder::RepairReachability(Scratch& s) {
  const size_t cap = static_cast<size_t>(MaxLinks(m_, 0));
  std::vector<uint8_t> reach;
  std::vector<uint32_t> queue;
  std::vector<uint32_t> indegree;
  queue.reserve(n_);
  for (int round = 0; round < 3; ++round) {
    reach.assign(n_, 0);
    queue.clear();
    queue.push_back(entry_);
    reach[entry_] = 1;
    if (!Flood(reach, queue, 0, s)) return;
    if (queue.size() == n_) return;
    if (indegree.empty()) {
      indegree.assign(n_, 0);
      for (uint32_t v = 0; v < n_; ++v) {
        if ((v & 0xFFFF) == 0 && ShouldStop(s)) return;
        int c = 0;
        const uint32_t* nb = g_->neighbors(v, 0, &c);
        for (int i = 0; i < c; ++i) ++indegree[nb[i]];
      }
    }
    size_t cursor = 0;  // for the fallback scan of reachable hosts
    for (uint32_t u = 0; u < n_; ++u) {
      if (reach[u]) continue;
      if (ShouldStop(s)) return;
      const float* uv = QueryOf(u, s.query);
      // Gives u a slot in h's list if h can spare one.
      auto try_host = [&](uint32_t h) {
        if (!reach[h] || h == u) return false;
        uint32_t* list = g_->MutableList(h, 0);
        const size_t c = list[0];
        if (c < cap) {
          list[1 + c] = u;
          list[0] = static_cast<uint32_t>(c + 1);
          return true;
        }
        size_t victim = c;
        for (size_t i = 0; i < c; ++i) {
          const uint32_t w = list[1 + i];
          if (indegree[w] >= 2 && (victim == c || indegree[w] >= indegree[list[1 + victim]])) {
            victim = i;
          }
        }
        if (victim == c) return false;
        --indegree[list[1 + victim]];
        list[1 + victim] = u;
        return true;
      };
      bool linked = false;
      // Hosts near u: first from where the upper levels lead; if that region
      // is cut off too, from the entry point (all it finds is reachable).
      MemoryGraph& graph = s.search->graph();
      LayerSearch<MemoryGraph>& search = s.search->search();
      graph.SetQuery(uv, u);
      for (int attempt = 0; attempt < 2 && !linked; ++attempt) {
        uint32_t* entries = s.entry.data();
        entries[0] = entry_;
        size_t nentries = 1;
        if (attempt == 0 && top_ > 0) {
          search.Start(top_, entries, 1);
          nentries = Descend(&search, &graph, top_, 0, entries, 1);
        }
        search.Start(0, entries, nentries);
        const size_t nr = search.Batch(ef_construction_, s.result.data());
        for (size_t i = 0; i < nr && !linked; ++i) linked = try_host(s.result[i].id);
      }
      // Degenerate data (many equal vectors) can exhaust the hosts a search
      // finds; then any reachable node will do.
      for (size_t tries = 0; tries < queue.size() && !linked; ++tries) {
        linked = try_host(queue[cursor++ % queue.size()]);
      }
      if (!linked) continue;  // nothing can spare a slot; give up on u
      ++indegree[u];
      reach[u] = 1;
      const size_t head = queue.size();
      queue.push_back(u);
      if (!Flood(reach, queue, head, s)) return;
    }
  }
}

void GraphBuilder::RunLoop(Scratch& s) {
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= n_) break;
      Insert(static_cast<uint32_t>(i), s);
      done_.fetch_add(1, std::memory_order_relaxed);
      if (s.is_caller) ShouldStop(s);
    }
  } catch (...) {
    Fail(Status::kOutOfMemory);
  }
}

void GraphBuilder::Insert(uint32_t q, Scratch& s) {
  const int lq = g_->levels_[q];
  const float* qv = QueryOf(q, s.query);
  auto stop = [this, &s] { return ShouldStop(s); };
  auto pair = [this, &s](uint32_t a, uint32_t b) { return PairDist(a, b, s); };

  std::unique_lock<std::mutex> glock(global_);
  const uint32_t ep = entry_;
  const int top = top_;
  if (lq <= top) glock.unlock();  // else keep it: q becomes the entry point

  MemoryGraph& graph = s.search->graph();
  LayerSearch<MemoryGraph>& search = s.search->search();
  graph.SetQuery(qv, q);
  uint32_t* entries = s.entry.data();
  entries[0] = ep;
  size_t nentries = 1;
  if (top > lq) {
    search.Start(top, entries, 1);
    nentries = Descend(&search, &graph, top, lq, entries, 1);
  }
  for (int lev = std::min(top, lq); lev >= 0; --lev) {
    search.Start(lev, entries, nentries);
    const size_t nr = search.Batch(ef_construction_, s.result.data());
    if (stop_.load(std::memory_order_relaxed)) return;
    const size_t cap = static_cast<size_t>(MaxLinks(m_, lev));
    const size_t ns = SelectNeighbors(s.result.data(), nr, pair, cap, s.selected.data(), true,
                                      s.selected_kept.data());
    for (size_t i = 0; i < ns; ++i) PrefetchForUpdate(s.selected[i].id, lev);
    SetOwnLinks(q, lev, s.selected.data(), s.selected_kept.data(), ns, s);
    for (size_t i = 0; i < ns; ++i) {
      AddBackLink(s.selected[i].id, q, s.selected[i].distance, lev, s);
      if (stop()) return;
    }
    // This layer's candidates seed the next one.
    if (nr > 0) {
      for (size_t i = 0; i < nr; ++i) entries[i] = s.result[i].id;
      nentries = nr;
    }
  }
  if (lq > top) {
    entry_ = q;
    top_ = lq;
  }
}

// Writes q's list at `level`. Normally it is still empty; it is not when
// another thread reached q through an upper level and linked to it already,
// then the two sets are merged and re-selected.
void GraphBuilder::SetOwnLinks(uint32_t q, int level, const Candidate* sel, const uint8_t* sel_kept,
                               size_t ns, Scratch& s) {
  const size_t cap = static_cast<size_t>(MaxLinks(m_, level));
  auto pair = [this, &s](uint32_t a, uint32_t b) { return PairDist(a, b, s); };
  Lock(q);
  uint32_t* list = g_->MutableList(q, level);
  const SlotMeta meta = Meta(q, level);
  const size_t existing = list[0];
  if (existing == 0) {
    for (size_t i = 0; i < ns; ++i) {
      list[1 + i] = sel[i].id;
      meta.dist[i] = sel[i].distance;
      meta.kept[i] = sel_kept[i];
    }
    list[0] = static_cast<uint32_t>(ns);
    Unlock(q);
    return;
  }
  Candidate* pool = s.pool.data();
  size_t np = 0;
  for (size_t i = 0; i < ns; ++i) pool[np++] = sel[i];
  for (size_t i = 0; i < existing; ++i) {
    const uint32_t id = list[1 + i];
    bool dup = false;
    for (size_t j = 0; j < ns && !dup; ++j) dup = sel[j].id == id;
    if (!dup) pool[np++] = Candidate{meta.dist[i], id};
  }
  SortCandidates(pool, np);
  const size_t nk =
      SelectNeighbors(pool, np, pair, cap, s.picked.data(), true, s.picked_kept.data());
  for (size_t i = 0; i < nk; ++i) {
    list[1 + i] = s.picked[i].id;
    meta.dist[i] = s.picked[i].distance;
    meta.kept[i] = s.picked_kept[i];
  }
  list[0] = static_cast<uint32_t>(nk);
  Unlock(q);
}

// Adds q (at distance d) to e's list at `level`; when the list is full, the
// heuristic decides which entry goes (AddNeighbor: the same result as a full
// re-selection over the old links plus q).
void GraphBuilder::AddBackLink(uint32_t e, uint32_t q, float d, int level, Scratch& s) {
  const size_t cap = static_cast<size_t>(MaxLinks(m_, level));
  auto pair = [this, &s](uint32_t a, uint32_t b) { return PairDist(a, b, s); };
  Lock(e);
  uint32_t* list = g_->MutableList(e, level);
  const SlotMeta meta = Meta(e, level);
  const size_t c = list[0];
  Candidate* pool = s.pool.data();
  uint8_t* kept = s.pool_kept.data();
  for (size_t i = 0; i < c; ++i) {
    if (list[1 + i] == q) {  // e linked to q itself while q was being inserted
      Unlock(e);
      return;
    }
    pool[i] = Candidate{meta.dist[i], list[1 + i]};
    kept[i] = meta.kept[i];
  }
  const size_t nk = AddNeighbor(pool, kept, c, cap, Candidate{d, q}, pair);
  for (size_t i = 0; i < nk; ++i) {
    list[1 + i] = pool[i].id;
    meta.dist[i] = pool[i].distance;
    meta.kept[i] = kept[i];
  }
  list[0] = static_cast<uint32_t>(nk);
  Unlock(e);
}

}  // namespace internal

Status BuildGraph(const float* rows, size_t n, const RowFormat& format, const BuildOptions& opts,
                  HnswGraph* out) {
  if (out == nullptr) return Status::kInvalidArgument;
  out->Clear();
  if (format.dist == nullptr || format.dim == 0 || format.row_words == 0 ||
      (format.decode == nullptr && format.row_words < format.dim) || (rows == nullptr && n > 0) ||
      opts.params.m < kMinM ||
      opts.params.m > kMaxM || opts.params.ef_construction < 1 ||
      n >= static_cast<size_t>(kInvalidId)) {
    return Status::kInvalidArgument;
  }
  if (n == 0) return Status::kOk;  // an empty graph: entry_point() == kInvalidId
  HnswGraph g;
  Status st;
  try {
    internal::GraphBuilder builder(rows, n, format, opts, &g);
    st = builder.Run();
  } catch (...) {
    st = Status::kOutOfMemory;
  }
  if (st == Status::kOk) out->Swap(g);
  return st;
}

}  // namespace vecann::core
