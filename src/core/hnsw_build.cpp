// Concurrent in-memory HNSW build (Malkov & Yashunin, with hnswlib-style
// fine-grained locking) and the in-memory k-NN search used by tests.
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

#include "core/level.h"
#include "core/select_neighbors.h"

namespace vecann::core {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr int kMaxThreads = 256;
// Node expansions of a layer search between two looks at the stop flag.
constexpr unsigned kStopCheckEvery = 16;

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
inline void PrefetchForWrite(const void* p) {
#if defined(__GNUC__)
  __builtin_prefetch(p, 1, 3);
#else
  (void)p;
#endif
}

// Epoch-tagged visited set over node ids: starting a new search is O(1)
// (bump the epoch) except once every 65535 searches (clear the tags).
class VisitedSet {
 public:
  void Init(size_t n) {
    tags_.assign(n, 0);
    epoch_ = 0;
  }
  void NewEpoch() {
    if (++epoch_ == 0) {
      std::fill(tags_.begin(), tags_.end(), uint16_t{0});
      epoch_ = 1;
    }
  }
  // Marks id visited; returns whether it already was.
  bool TestAndSet(uint32_t id) {
    uint16_t& t = tags_[id];
    if (t == epoch_) return true;
    t = epoch_;
    return false;
  }

 private:
  std::vector<uint16_t> tags_;
  uint16_t epoch_ = 0;
};

// Per-thread buffers, sized once so the hot loops rarely allocate.
struct Scratch {
  VisitedSet visited;
  std::vector<Candidate> cand;      // min-heap: nodes still to expand
  std::vector<Candidate> result;    // max-heap of the ef best; sorted after a search
  std::vector<Candidate> entry;     // entry points of the next layer's search
  std::vector<Candidate> selected;  // neighbours chosen for the node being inserted
  std::vector<uint8_t> selected_kept;
  std::vector<Candidate> pool;  // candidates of a re-selection
  std::vector<uint8_t> pool_kept;
  std::vector<Candidate> picked;  // output of a re-selection
  std::vector<uint8_t> picked_kept;
  std::vector<uint32_t> links;  // copy of one neighbour list
  std::vector<uint32_t> fresh;  // not-yet-visited neighbours of one node
  // Rows in a coded form are decoded to float32 to be used as a query: one
  // buffer for the node being inserted, one (with its id) for pair distances.
  std::vector<float> query;
  std::vector<float> pair_query;
  uint32_t pair_query_id = kInvalidId;
  bool is_caller = false;

  void Init(size_t n, size_t ef, size_t max_links) {
    visited.Init(n);
    cand.reserve(ef + 4 * max_links);
    result.reserve(ef + 1);
    entry.reserve(ef + 1);
    selected.resize(max_links);
    selected_kept.resize(max_links);
    pool.resize(2 * max_links + 2);
    pool_kept.resize(2 * max_links + 2);
    picked.resize(max_links);
    picked_kept.resize(max_links);
    links.resize(max_links);
    fresh.resize(max_links);
    pair_query_id = kInvalidId;
  }
};

// The vector array as the searches see it: rows of `stride` words in the
// caller's stored form, compared with a float32 query of `dim` values.
struct Rows {
  const float* base;
  size_t stride;
  size_t dim;
  kernels::DistanceFn dist;
  const float* Row(uint32_t id) const { return base + static_cast<size_t>(id) * stride; }
  float Dist(const float* query, uint32_t id) const { return dist(query, Row(id), dim); }
};

// Greedy walk at one layer: move to the closest neighbour until none is
// closer. A Reader has `size_t operator()(uint32_t node, uint32_t* buf)`, which
// copies node's list at the layer into buf and returns its length, and
// `void Prefetch(uint32_t node)`, a hint that the list will be read soon.
template <typename Reader>
Candidate GreedyClosest(const float* query, Candidate cur, const Rows& rows, uint32_t* buf,
                        const Reader& read_links) {
  for (;;) {
    const size_t nl = read_links(cur.id, buf);
    for (size_t j = 0; j < nl; ++j) Prefetch(rows.Row(buf[j]));
    bool moved = false;
    for (size_t j = 0; j < nl; ++j) {
      const uint32_t id = buf[j];
      const float d = rows.Dist(query, id);
      if (d < cur.distance) {
        cur = Candidate{d, id};
        moved = true;
      }
    }
    if (!moved) return cur;
  }
}

// Best-first search of one layer from the entry points eps (distances already
// computed), keeping the ef best. `exclude` (or kInvalidId) is never returned.
// should_stop() is consulted every few expansions; when it says yes the search
// ends early. Leaves the result in s.result, nearest first.
template <typename Reader, typename ShouldStop>
void LayerSearch(const float* query, const Candidate* eps, size_t n_eps, size_t ef,
                 uint32_t exclude, const Rows& rows, Scratch& s, const Reader& read_links, ShouldStop&& should_stop) {
  const CandidateLess less;
  const CandidateGreater greater;
  if (ef == 0) ef = 1;
  s.visited.NewEpoch();
  if (exclude != kInvalidId) s.visited.TestAndSet(exclude);
  std::vector<Candidate>& cand = s.cand;
  std::vector<Candidate>& res = s.result;
  cand.clear();
  res.clear();
  for (size_t i = 0; i < n_eps; ++i) {
    const Candidate e = eps[i];
    if (s.visited.TestAndSet(e.id)) continue;
    cand.push_back(e);
    std::push_heap(cand.begin(), cand.end(), greater);
    res.push_back(e);
    std::push_heap(res.begin(), res.end(), less);
    if (res.size() > ef) {
      std::pop_heap(res.begin(), res.end(), less);
      res.pop_back();
    }
  }
  unsigned expanded = 0;
  uint32_t* links = s.links.data();
  uint32_t* fresh = s.fresh.data();
  while (!cand.empty()) {
    const Candidate c = cand.front();
    if (res.size() >= ef && less(res.front(), c)) break;  // nothing closer can follow
    std::pop_heap(cand.begin(), cand.end(), greater);
    cand.pop_back();

    const size_t nl = read_links(c.id, links);
    size_t nf = 0;
    for (size_t j = 0; j < nl; ++j) {
      const uint32_t id = links[j];
      if (s.visited.TestAndSet(id)) continue;
      fresh[nf++] = id;
      Prefetch(rows.Row(id));
    }
    for (size_t j = 0; j < nf; ++j) {
      const uint32_t id = fresh[j];
      const Candidate x{rows.Dist(query, id), id};
      if (res.size() < ef || less(x, res.front())) {
        read_links.Prefetch(id);  // likely expanded later
        cand.push_back(x);
        std::push_heap(cand.begin(), cand.end(), greater);
        res.push_back(x);
        std::push_heap(res.begin(), res.end(), less);
        if (res.size() > ef) {
          std::pop_heap(res.begin(), res.end(), less);
          res.pop_back();
        }
      }
    }
    if (++expanded % kStopCheckEvery == 0 && should_stop()) break;
  }
  std::sort_heap(res.begin(), res.end(), less);
}

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
  size_t ReadLinks(uint32_t node, int level, uint32_t* buf) {
    Lock(node);
    const uint32_t* list = g_->List(node, level);
    const size_t c = list[0];
    std::memcpy(buf, list + 1, c * sizeof(uint32_t));
    Unlock(node);
    return c;
  }

  // Reads lists at one level during the build (under the node locks).
  struct LockedReader {
    GraphBuilder* b;
    int level;
    size_t operator()(uint32_t node, uint32_t* buf) const { return b->ReadLinks(node, level, buf); }
    void Prefetch(uint32_t node) const { vecann::core::Prefetch(b->g_->List(node, level)); }
  };
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

  void Lock(uint32_t node) {
    if (!concurrent_) return;
    std::atomic<uint8_t>& f = locks_[node];
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
  void Unlock(uint32_t node) {
    if (concurrent_) locks_[node].store(0, std::memory_order_release);
  }

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
  const size_t max_links0 = static_cast<size_t>(MaxLinks(m_, 0));
  int threads = std::max(1, std::min(opts_.threads, kMaxThreads));
  if (static_cast<size_t>(threads) > n_) threads = static_cast<int>(n_);
  concurrent_ = threads > 1;

  std::vector<std::unique_ptr<Scratch>> scratch;
  try {
    const Status st = Allocate();
    if (st != Status::kOk) return st;
    for (int t = 0; t < threads; ++t) {
      scratch.push_back(std::make_unique<Scratch>());
      scratch.back()->Init(n_, ef_construction_, max_links0);
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
      Candidate cur{Dist(uv, entry_), entry_};
      for (int lev = top_; lev > 0; --lev) {
        cur = GreedyClosest(uv, cur, rows_, s.links.data(), LockedReader{this, lev});
      }
      for (int attempt = 0; attempt < 2 && !linked; ++attempt) {
        if (attempt == 1) cur = Candidate{Dist(uv, entry_), entry_};
        LayerSearch(uv, &cur, 1, ef_construction_, u, rows_, s, LockedReader{this, 0},
                    [] { return false; });
        for (size_t i = 0; i < s.result.size() && !linked; ++i) linked = try_host(s.result[i].id);
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

  Candidate cur{Dist(qv, ep), ep};
  for (int lev = top; lev > lq; --lev) {
    cur = GreedyClosest(qv, cur, rows_, s.links.data(), LockedReader{this, lev});
  }
  s.entry.clear();
  s.entry.push_back(cur);
  for (int lev = std::min(top, lq); lev >= 0; --lev) {
    LayerSearch(qv, s.entry.data(), s.entry.size(), ef_construction_, q, rows_, s,
                LockedReader{this, lev}, stop);
    if (stop_.load(std::memory_order_relaxed)) return;
    const size_t cap = static_cast<size_t>(MaxLinks(m_, lev));
    const size_t ns = SelectNeighbors(s.result.data(), s.result.size(), pair, cap,
                                      s.selected.data(), true, s.selected_kept.data());
    for (size_t i = 0; i < ns; ++i) PrefetchForUpdate(s.selected[i].id, lev);
    SetOwnLinks(q, lev, s.selected.data(), s.selected_kept.data(), ns, s);
    for (size_t i = 0; i < ns; ++i) {
      AddBackLink(s.selected[i].id, q, s.selected[i].distance, lev, s);
      if (stop()) return;
    }
    s.entry.swap(s.result);  // this layer's candidates seed the next one
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

Status BuildGraph(const float* vectors, size_t n, size_t dim, kernels::DistanceFn dist,
                  const BuildOptions& opts, HnswGraph* out) {
  return BuildGraph(vectors, n, RowFormat{dim, dim, dist, nullptr}, opts, out);
}

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

Status SearchGraph(const HnswGraph& graph, const float* vectors, size_t dim,
                   kernels::DistanceFn dist, const float* query, size_t k, size_t ef,
                   std::vector<Candidate>* out) {
  return SearchGraph(graph, vectors, RowFormat{dim, dim, dist, nullptr}, query, k, ef, out);
}

Status SearchGraph(const HnswGraph& graph, const float* rows, const RowFormat& format,
                   const float* query, size_t k, size_t ef, std::vector<Candidate>* out) {
  if (out == nullptr) return Status::kInvalidArgument;
  out->clear();
  if (graph.size() == 0 || k == 0) return Status::kOk;
  if (rows == nullptr || format.dim == 0 || format.row_words == 0 || format.dist == nullptr ||
      query == nullptr) {
    return Status::kInvalidArgument;
  }
  try {
    ef = std::max(ef, k);
    Scratch s;
    s.Init(graph.size(), ef, static_cast<size_t>(MaxLinks(graph.m(), 0)));
    const uint32_t ep = graph.entry_point();
    const Rows r{rows, format.row_words, format.dim, format.dist};
    Candidate cur{r.Dist(query, ep), ep};
    struct Reader {
      const HnswGraph& g;
      int level;
      size_t operator()(uint32_t node, uint32_t* buf) const {
        int c = 0;
        const uint32_t* l = g.neighbors(node, level, &c);
        std::memcpy(buf, l, static_cast<size_t>(c) * sizeof(uint32_t));
        return static_cast<size_t>(c);
      }
      void Prefetch(uint32_t) const {}
    };
    auto reader = [&graph](int lev) { return Reader{graph, lev}; };
    for (int lev = graph.max_level(); lev > 0; --lev) {
      cur = GreedyClosest(query, cur, r, s.links.data(), reader(lev));
    }
    LayerSearch(query, &cur, 1, ef, kInvalidId, r, s, reader(0), [] { return false; });
    const size_t nk = std::min(k, s.result.size());
    out->assign(s.result.begin(), s.result.begin() + static_cast<std::ptrdiff_t>(nk));
  } catch (...) {
    out->clear();
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace vecann::core
