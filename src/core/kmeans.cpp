// k-means (Lloyd's algorithm) for the ivfflat list centroids, and the
// nearest-centroid assignment of rows to lists. No Postgres here.
//
// Initialisation: k-means++ (Arthur & Vassilvitskii, D^2 sampling) over all
// rows, exactly -- not a subsample, whose seeding quality would depend on a
// sample size, nor k-means||, made for few passes over distributed data. It
// costs n*k distances, the same as one Lloyd assignment step, so it stays
// within O(n*k*dim) and is a small share of the run, and it gives the first
// assignment for free. Its k draws are sequential, though, and plain
// k-means++ reads all rows once per draw: memory-bound (4 Lloyd steps' time
// and more) once the rows outgrow the cache. So draws are made by rejection
// sampling against the weights of the last pass over the rows, and a pass
// applies a batch of up to 64 new centroids at once (see Init): the same
// distribution, a fraction of the memory traffic, and passes parallel over rows.
//
// Assignment steps use Hamerly's bounds (one upper bound to the own centroid,
// one lower bound to all others per row, O(n) memory): a row whose bounds show
// that its centroid is still the nearest costs no distance at all; the others
// get a full scan of the k centroids with the SIMD kernel, in tiles of rows x
// centroids that stay in cache. The bounds carry a small relative slack, so
// the float rounding of the kernel cannot make them claim more than is true.
//
// Determinism independent of the thread count: every per-row result (k-means++
// distances, bounds, assignment) depends only on that row; k-means++'s D^2
// total is a sum of per-chunk sums over chunks whose size depends only on dim,
// added in chunk order; a centroid update sums its cluster's rows in double in
// ascending row order within one work item (work is split by cluster, not by
// row, so no partial sums exist whose grouping could depend on the threads);
// empty-cluster re-seeding runs on the calling thread.
//
// Threads: a small pool started once per call, with all signals blocked, runs
// the parallel steps ("phases"); workers run only this file's code. The
// calling thread takes part in every phase and is the only one that polls.
#include "core/kmeans.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace vecann::core {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr int kMaxThreads = 256;
constexpr float kInf = std::numeric_limits<float>::infinity();
// Relative slack of Hamerly's bounds: upper bounds are inflated and lower
// bounds deflated by it, far more than the kernels' float rounding.
constexpr float kSlack = 1e-4f;
// Nearest-centroid scans work on tiles of kRowBlock rows x kTileBytes of
// centroids, so a tile of centroids is read from cache kRowBlock times.
constexpr size_t kRowBlock = 16;
constexpr size_t kTileBytes = 64 * 1024;

// Rows per work item of a full nearest-centroid scan: about 4M multiply-adds
// (well under a millisecond), so the calling thread polls often.
size_t ScanChunkRows(size_t k, size_t dim) {
  const size_t per_row = std::max<size_t>(1, k * dim);
  return std::clamp<size_t>((size_t{1} << 22) / per_row, 1, 1024);
}

// For the rows rows[0 .. m): the nearest centroid (ties: the lowest index),
// its distance, and the second smallest distance (kInf if k == 1).
void ScanNearest(const float* const* rows, size_t m, const float* centroids, size_t k,
                 size_t dim, kernels::DistanceFn dist, uint32_t* best, float* d1, float* d2) {
  const size_t tile = std::max<size_t>(1, kTileBytes / (dim * sizeof(float)));
  for (size_t r = 0; r < m; ++r) {
    best[r] = 0;
    d1[r] = kInf;
    d2[r] = kInf;
  }
  for (size_t r0 = 0; r0 < m; r0 += kRowBlock) {
    const size_t r1 = std::min(m, r0 + kRowBlock);
    for (size_t j0 = 0; j0 < k; j0 += tile) {
      const size_t j1 = std::min(k, j0 + tile);
      for (size_t r = r0; r < r1; ++r) {
        const float* x = rows[r];
        uint32_t b = best[r];
        float e1 = d1[r], e2 = d2[r];
        const float* c = centroids + j0 * dim;
        for (size_t j = j0; j < j1; ++j, c += dim) {
          const float d = dist(x, c, dim);
          if (d < e1) {
            e2 = e1;
            e1 = d;
            b = static_cast<uint32_t>(j);
          } else if (d < e2) {
            e2 = d;
          }
        }
        best[r] = b;
        d1[r] = e1;
        d2[r] = e2;
      }
    }
  }
}

// Threads for the parallel steps. Run() hands out the items of one phase one
// by one to the calling thread (worker 0) and the workers; worker 0 polls
// between items and while it waits for the others.
class Pool {
 public:
  Pool(bool (*poll)(void*, size_t), void* poll_ctx) : poll_(poll), poll_ctx_(poll_ctx) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  // Starts up to threads - 1 workers (fewer when a thread cannot be created:
  // the result is the same). They inherit the signal mask, so every signal is
  // blocked while they are created.
  void Start(int threads) {
    if (threads <= 1) return;
    try {
      workers_.reserve(static_cast<size_t>(threads - 1));
    } catch (...) {
      return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int t = 1; t < threads; ++t) {
      try {
        workers_.emplace_back([this, t] { WorkerLoop(t); });
      } catch (...) {  // std::system_error
        break;
      }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
  int threads() const { return 1 + static_cast<int>(workers_.size()); }

  // Calling thread: runs f(item, worker) for every item in [0, items) on all
  // threads and returns once they are all done; false if the run stopped
  // (cancelled or failed), then some items may not have run.
  template <class F>
  bool Run(size_t items, F& f) {
    return RunRaw(items, [](void* ctx, size_t i, int w) { (*static_cast<F*>(ctx))(i, w); }, &f);
  }

  // Calling thread: runs the poll callback; returns whether to stop.
  bool Poll() {
    last_poll_ = Clock::now();
    if (poll_ != nullptr && !cancelled_ && !stop_.load(std::memory_order_relaxed) &&
        poll_(poll_ctx_, progress.load(std::memory_order_relaxed))) {
      cancelled_ = true;
      stop_.store(true, std::memory_order_relaxed);
    }
    return stop_.load(std::memory_order_relaxed);
  }
  // Any thread: polls when due (worker 0, the calling thread, only) and
  // returns whether to stop.
  bool ShouldStop(int worker) {
    if (worker == 0 && Clock::now() - last_poll_ >= kPollInterval) Poll();
    return stop_.load(std::memory_order_relaxed);
  }
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void Fail(Status st) {
    int expected = static_cast<int>(Status::kOk);
    error_.compare_exchange_strong(expected, static_cast<int>(st));
    stop_.store(true, std::memory_order_relaxed);
  }
  // Calling thread, at the end: the status of the whole call, after the
  // final poll when nothing stopped it.
  Status Finish() {
    const Status err = static_cast<Status>(error_.load());
    if (err != Status::kOk) return err;
    if (cancelled_ || Poll()) return Status::kCancelled;
    return Status::kOk;
  }

  std::atomic<size_t> progress{0};  // what poll is told: work done

 private:
  using Fn = void (*)(void* ctx, size_t item, int worker);

  bool RunRaw(size_t items, Fn fn, void* ctx) {
    if (stopped()) return false;
    if (workers_.empty()) {
      fn_ = fn;
      ctx_ = ctx;
      items_ = items;
      next_.store(0, std::memory_order_relaxed);
      Drain(0);
      return !stopped();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = fn;
      ctx_ = ctx;
      items_ = items;
      next_.store(0, std::memory_order_relaxed);
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_.notify_all();
    Drain(0);
    // Wait for the workers' last items, still polling.
    std::unique_lock<std::mutex> lk(mu_);
    while (active_ > 0) {
      done_cv_.wait_for(lk, kPollInterval);
      if (active_ == 0) break;
      lk.unlock();
      ShouldStop(0);
      lk.lock();
    }
    return !stopped();
  }

  void Drain(int worker) {
    while (!stop_.load(std::memory_order_relaxed)) {
      const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
      if (i >= items_) break;
      try {
        fn_(ctx_, i, worker);
      } catch (...) {  // the phases do not allocate; this is only a backstop
        Fail(Status::kOutOfMemory);
      }
      if (worker == 0) ShouldStop(0);
    }
  }

  void WorkerLoop(int worker) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
      }
      Drain(worker);
      std::lock_guard<std::mutex> lk(mu_);
      if (--active_ == 0) done_cv_.notify_all();
    }
  }

  bool (*const poll_)(void*, size_t);
  void* const poll_ctx_;
  std::vector<std::thread> workers_;

  // The current phase; written under mu_ before generation_ changes.
  Fn fn_ = nullptr;
  void* ctx_ = nullptr;
  size_t items_ = 0;
  std::atomic<size_t> next_{0};

  std::mutex mu_;
  std::condition_variable cv_;       // a new phase, or quit_
  std::condition_variable done_cv_;  // active_ reached 0
  uint64_t generation_ = 0;
  int active_ = 0;
  bool quit_ = false;

  std::atomic<bool> stop_{false};
  std::atomic<int> error_{static_cast<int>(Status::kOk)};
  // Calling thread only.
  bool cancelled_ = false;
  Clock::time_point last_poll_ = Clock::now();
};

// Per-thread buffers, sized once.
struct Scratch {
  std::vector<double> acc;          // dim: a cluster's sum
  std::vector<const float*> rows;   // rows of a chunk needing a full scan
  std::vector<uint32_t> ids;        // their indices
  std::vector<uint32_t> best;       // scan results
  std::vector<float> d1, d2;
};

class KMeansRun {
 public:
  KMeansRun(const float* rows, size_t n, size_t dim, const KMeansOptions& o, float* centroids,
            Pool* pool)
      : rows_(rows),
        n_(n),
        dim_(dim),
        k_(o.k),
        opts_(o),
        c_(centroids),
        pool_(*pool),
        dist_(kernels::Kernels().squared_l2) {}

  Status Run();

 private:
  const float* Row(size_t i) const { return rows_ + i * dim_; }
  float* Cent(size_t j) const { return c_ + j * dim_; }
  float* Old(size_t j) { return old_.data() + j * dim_; }
  float Dist(const float* a, const float* b) const { return dist_(a, b, dim_); }
  void CopyRow(size_t row, size_t j) const {
    std::memcpy(Cent(j), Row(row), dim_ * sizeof(float));
  }

  void Allocate();
  bool Init();
  bool Update(bool* reseeded);
  bool Reseed(bool* reseeded);
  bool Assign(size_t* changes);
  void BuildMembers();

  const float* const rows_;
  const size_t n_, dim_, k_;
  const KMeansOptions& opts_;
  float* const c_;
  Pool& pool_;
  const kernels::DistanceFn dist_;

  // Per row: the cluster, and Hamerly's bounds (not squared): upper_ >= the
  // distance to the own centroid, lower_ <= the distance to any other one.
  // During the initialisation upper_ holds the squared distance to the
  // nearest centroid chosen so far.
  std::vector<uint32_t> assign_;
  std::vector<float> upper_, lower_;
  // Members of each cluster, ascending: order_[start_[j] .. start_[j] + count_[j]).
  std::vector<uint32_t> order_, start_, count_, cursor_;
  std::vector<float> old_;    // k*dim: the centroids before the current update
  std::vector<float> drift_;  // per cluster: how far its centroid moved (inflated)
  std::vector<float> sep_;    // per cluster: half the distance to the nearest other centroid
  std::vector<double> chunk_sum_;  // k-means++: D^2 sum per chunk of pp_chunk_ rows
  size_t pp_chunk_ = 0, pp_chunks_ = 0;
  size_t scan_chunk_ = 0, scan_chunks_ = 0;
  std::vector<uint32_t> heap_;  // Reseed: clusters that can give a row, largest on top
  std::vector<Scratch> scratch_;
  std::atomic<size_t> changes_{0};
};

void KMeansRun::Allocate() {
  assign_.resize(n_);
  upper_.resize(n_);
  lower_.resize(n_);
  order_.resize(n_);
  start_.resize(k_ + 1);
  count_.resize(k_);
  cursor_.resize(k_);
  old_.resize(k_ * dim_);
  drift_.resize(k_);
  sep_.resize(k_);
  heap_.reserve(k_);
  // k-means++ chunks: ~1M multiply-adds per centroid of a pass; the size
  // depends on dim only, so the chunk sums do not depend on the threads.
  pp_chunk_ = std::clamp<size_t>((size_t{1} << 20) / dim_, 64, 8192);
  pp_chunks_ = (n_ + pp_chunk_ - 1) / pp_chunk_;
  chunk_sum_.resize(pp_chunks_);
  scan_chunk_ = ScanChunkRows(k_, dim_);
  scan_chunks_ = (n_ + scan_chunk_ - 1) / scan_chunk_;
  scratch_.resize(static_cast<size_t>(pool_.threads()));
  for (Scratch& s : scratch_) {
    s.acc.resize(dim_);
    s.rows.resize(scan_chunk_);
    s.ids.resize(scan_chunk_);
    s.best.resize(scan_chunk_);
    s.d1.resize(scan_chunk_);
    s.d2.resize(scan_chunk_);
  }
}

// Uniform double in [0, 1) from 64 random bits (std::uniform_real_distribution
// is implementation-defined; this is the same on every platform).
double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// k-means++ seeding of centroids 0 .. k-1 (k < n here), exact D^2 sampling
// with few passes over the rows. A pass brings every row's mind (squared
// distance to the nearest centroid) and assign_ up to date with a batch of
// new centroids; in between, centroid j is drawn by rejection sampling: a row
// r drawn with probability proportional to its weight as of the last pass
// (which can only have shrunk since) is accepted with probability
// (its current weight) / (its weight then), the current weight costing one
// distance per centroid of the batch. The accepted row has exactly the D^2
// distribution of plain k-means++, but the rows are read once per batch of up
// to 64 centroids instead of once per centroid: plain k-means++ is bound by
// memory bandwidth as soon as the rows outgrow the cache (about 4 Lloyd
// steps' time at n = 100000, dim = 784), this costs about one.
// Leaves in assign_ the nearest centroid of each row (ties: the lowest index)
// and in upper_ the bound to it.
bool KMeansRun::Init() {
  std::mt19937_64 rng(opts_.seed);
  float* mind = upper_.data();
  // Centroids [j0, j1) are applied to mind and assign_ by a pass.
  size_t j0 = 0, j1 = 0;
  auto pass = [&](size_t c, int) {
    const size_t b = c * pp_chunk_, e = std::min(n_, b + pp_chunk_);
    double s = 0;
    for (size_t i = b; i < e; ++i) {
      float m = mind[i];
      if (m > 0) {
        const float* x = Row(i);
        uint32_t a = assign_[i];
        for (size_t t = j0; t < j1; ++t) {
          const float d = Dist(x, Cent(t));
          if (d < m) {
            m = d;
            a = static_cast<uint32_t>(t);
          }
        }
        mind[i] = m;
        assign_[i] = a;
      }
      s += m;
    }
    chunk_sum_[c] = s;
  };
  double total = 0;  // sum of mind as of the last pass, in chunk order
  auto run_pass = [&](size_t upto) {
    j1 = upto;
    if (!pool_.Run(pp_chunks_, pass)) return false;
    j0 = upto;
    total = 0;
    for (size_t c = 0; c < pp_chunks_; ++c) total += chunk_sum_[c];
    return true;
  };
  // A row with probability mind[i] / total: walk the chunk sums, then the rows
  // of the chunk, adding in the same order as the sums were made. n_ if
  // rounding finds none.
  auto sample = [&](double u) {
    double acc = 0;
    for (size_t c = 0; c < pp_chunks_; ++c) {
      if (acc + chunk_sum_[c] > u) {
        const size_t b = c * pp_chunk_, e = std::min(n_, b + pp_chunk_);
        double s = 0;
        for (size_t i = b; i < e; ++i) {
          s += mind[i];
          if (acc + s > u) return i;
        }
        for (size_t i = e; i-- > b;) {  // rounding: the chunk's last row with weight
          if (mind[i] > 0) return i;
        }
        return n_;
      }
      acc += chunk_sum_[c];
    }
    return n_;
  };
  const size_t batch = std::clamp<size_t>(kTileBytes / (dim_ * sizeof(float)), 8, 64);

  std::fill(mind, mind + n_, kInf);
  std::fill(assign_.begin(), assign_.end(), 0u);
  CopyRow(static_cast<size_t>(rng() % n_), 0);
  if (!run_pass(1)) return false;
  size_t rejected = 0;  // since the last pass
  for (size_t j = 1; j < k_; ++j) {
    size_t pick = n_;
    while (pick == n_) {
      // A pass when the batch is full, or when rejections say the weights
      // shrank a lot (also the way out when they all fell to zero).
      if (j > j0 && (j - j0 >= batch || rejected >= 16 + 4 * (j - j0))) {
        if (!run_pass(j)) return false;
        rejected = 0;
      }
      if (pool_.ShouldStop(0)) return false;
      if (!(total > 0)) break;  // every row sits on a centroid
      if (!std::isfinite(total)) {
        // The sum overflowed: take the farthest row, from exact weights.
        if (j > j0) {
          if (!run_pass(j)) return false;
          continue;
        }
        float far = -1;
        for (size_t i = 0; i < n_; ++i) {
          if (mind[i] > far) {
            far = mind[i];
            pick = i;
          }
        }
        if (pick == n_) pick = 0;  // NaN everywhere
        break;
      }
      const size_t r = sample(Uniform01(rng) * total);
      const double accept = Uniform01(rng);
      if (r == n_) {  // rounding
        ++rejected;
        continue;
      }
      const float m = mind[r];
      float w = m;
      for (size_t t = j0; t < j; ++t) w = std::min(w, Dist(Row(r), Cent(t)));
      if (accept * m < w) {
        pick = r;
      } else {
        ++rejected;
      }
    }
    if (pick == n_) {
      // Fewer distinct rows than k: the rest are copies of rows, i.e.
      // duplicates of centroids, whose clusters stay empty.
      for (; j < k_; ++j) CopyRow(static_cast<size_t>(rng() % n_), j);
      break;
    }
    CopyRow(pick, j);
  }
  if (j0 < k_ && !run_pass(k_)) return false;
  for (size_t i = 0; i < n_; ++i) {
    upper_[i] = std::sqrt(mind[i]) * (1 + kSlack);
    lower_[i] = 0;  // unknown: the first assignment scans every row
  }
  return true;
}

// Members of each cluster from assign_ (a counting sort; rows ascending).
void KMeansRun::BuildMembers() {
  std::fill(count_.begin(), count_.end(), 0);
  for (size_t i = 0; i < n_; ++i) ++count_[assign_[i]];
  uint32_t s = 0;
  for (size_t j = 0; j < k_; ++j) {
    start_[j] = s;
    cursor_[j] = s;
    s += count_[j];
  }
  start_[k_] = s;
  for (size_t i = 0; i < n_; ++i) order_[cursor_[assign_[i]]++] = static_cast<uint32_t>(i);
}

// Moves every centroid to the mean of its cluster (spherical: the mean's
// direction), re-seeds empty clusters, and records how far each one moved.
bool KMeansRun::Update(bool* reseeded) {
  BuildMembers();
  auto update = [&](size_t j, int w) {
    float* c = Cent(j);
    std::memcpy(Old(j), c, dim_ * sizeof(float));
    drift_[j] = 0;
    const uint32_t cnt = count_[j];
    if (cnt == 0) return;  // re-seeded below
    double* acc = scratch_[static_cast<size_t>(w)].acc.data();
    std::fill(acc, acc + dim_, 0.0);
    const uint32_t* members = &order_[start_[j]];
    for (uint32_t q = 0; q < cnt; ++q) {
      if ((q & 1023) == 1023 && pool_.ShouldStop(w)) return;
      const float* x = Row(members[q]);
      for (size_t d = 0; d < dim_; ++d) acc[d] += x[d];
    }
    if (opts_.spherical) {
      double nn = 0;
      for (size_t d = 0; d < dim_; ++d) nn += acc[d] * acc[d];
      if (nn > 0) {
        const double inv = 1.0 / std::sqrt(nn);
        for (size_t d = 0; d < dim_; ++d) c[d] = static_cast<float>(acc[d] * inv);
      } else {
        std::memcpy(c, Row(members[0]), dim_ * sizeof(float));
      }
    } else {
      const double cd = static_cast<double>(cnt);
      for (size_t d = 0; d < dim_; ++d) c[d] = static_cast<float>(acc[d] / cd);
    }
    drift_[j] = std::sqrt(Dist(Old(j), c)) * (1 + kSlack);
  };
  if (!pool_.Run(k_, update)) return false;
  return Reseed(reseeded);
}

// Each empty cluster takes the member of the largest cluster (ties: the lowest
// index) farthest from that cluster's centroid (ties: the lowest row); a
// cluster whose members all sit on its centroid cannot be split and is passed
// over. Costs at most one distance per row per empty cluster, on the calling
// thread, polling.
bool KMeansRun::Reseed(bool* reseeded) {
  std::vector<uint32_t>& heap = heap_;  // clusters with >= 2 members
  heap.clear();
  bool built = false;
  auto smaller = [this](uint32_t a, uint32_t b) {
    return count_[a] < count_[b] || (count_[a] == count_[b] && a > b);
  };
  for (size_t e = 0; e < k_; ++e) {
    if (count_[e] != 0) continue;
    if (!built) {
      for (size_t j = 0; j < k_; ++j) {
        if (count_[j] >= 2) heap.push_back(static_cast<uint32_t>(j));
      }
      std::make_heap(heap.begin(), heap.end(), smaller);
      built = true;
    }
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), smaller);
      const uint32_t b = heap.back();
      heap.pop_back();
      const float* cb = Cent(b);
      float far = 0;
      size_t pick = n_;
      for (uint32_t q = start_[b]; q < start_[b + 1]; ++q) {
        if (((q - start_[b]) & 4095) == 4095 && pool_.ShouldStop(0)) return false;
        const uint32_t r = order_[q];
        if (assign_[r] != b) continue;  // given to an earlier empty cluster
        const float d = Dist(Row(r), cb);
        if (d > far) {
          far = d;
          pick = r;
        }
      }
      if (pick == n_) continue;  // every member is on the centroid
      CopyRow(pick, e);
      assign_[pick] = static_cast<uint32_t>(e);
      upper_[pick] = 0;
      lower_[pick] = 0;
      --count_[b];
      count_[e] = 1;
      drift_[e] = std::sqrt(Dist(Old(e), Cent(e))) * (1 + kSlack);
      *reseeded = true;
      if (count_[b] >= 2) {
        heap.push_back(b);
        std::push_heap(heap.begin(), heap.end(), smaller);
      }
      break;
    }
    if (heap.empty() && count_[e] == 0) break;  // nothing left to split
    if (pool_.ShouldStop(0)) return false;
  }
  return true;
}

// Assigns every row to its nearest centroid; *changes = rows that moved.
bool KMeansRun::Assign(size_t* changes) {
  // The largest drift, which cluster has it, and the second largest.
  float p1 = 0, p2 = 0;
  size_t p1_id = 0;
  for (size_t j = 0; j < k_; ++j) {
    if (drift_[j] > p1) {
      p2 = p1;
      p1 = drift_[j];
      p1_id = j;
    } else if (drift_[j] > p2) {
      p2 = drift_[j];
    }
  }
  // Hamerly's s(j): a row closer to its centroid than half the distance from
  // there to any other centroid keeps it. k^2 distances: only when k <= n/4.
  if (k_ == 1) {
    sep_[0] = kInf;
  } else if (k_ <= n_ / 4) {
    auto sep = [&](size_t j, int) {
      const float* cj = Cent(j);
      float m = kInf;
      for (size_t i = 0; i < k_; ++i) {
        if (i != j) m = std::min(m, Dist(cj, Cent(i)));
      }
      sep_[j] = 0.5f * std::sqrt(m) * (1 - kSlack);
    };
    if (!pool_.Run(k_, sep)) return false;
  } else {
    std::fill(sep_.begin(), sep_.end(), 0.0f);
  }
  changes_.store(0, std::memory_order_relaxed);
  auto assign = [&](size_t c, int w) {
    Scratch& s = scratch_[static_cast<size_t>(w)];
    const size_t b = c * scan_chunk_, e = std::min(n_, b + scan_chunk_);
    size_t m = 0;
    for (size_t i = b; i < e; ++i) {
      const uint32_t a = assign_[i];
      float u = upper_[i] + drift_[a];
      const float l = lower_[i] - (a == p1_id ? p2 : p1);
      const float z = std::max(l, sep_[a]);
      lower_[i] = l;
      if (u < z) {
        upper_[i] = u;
        continue;
      }
      u = std::sqrt(Dist(Row(i), Cent(a))) * (1 + kSlack);
      upper_[i] = u;
      if (u < z) continue;
      s.rows[m] = Row(i);
      s.ids[m] = static_cast<uint32_t>(i);
      ++m;
    }
    ScanNearest(s.rows.data(), m, c_, k_, dim_, dist_, s.best.data(), s.d1.data(), s.d2.data());
    size_t moved = 0;
    for (size_t q = 0; q < m; ++q) {
      const uint32_t i = s.ids[q];
      if (s.best[q] != assign_[i]) ++moved;
      assign_[i] = s.best[q];
      upper_[i] = std::sqrt(s.d1[q]) * (1 + kSlack);
      lower_[i] = std::sqrt(s.d2[q]) * (1 - kSlack);
    }
    changes_.fetch_add(moved, std::memory_order_relaxed);
  };
  if (!pool_.Run(scan_chunks_, assign)) return false;
  *changes = changes_.load(std::memory_order_relaxed);
  return true;
}

// max_iterations updates; between two updates an assignment step, whose
// "nothing moved" ends the run early (the centroids are then the means of
// their clusters already).
Status KMeansRun::Run() {
  try {
    Allocate();
  } catch (...) {  // std::bad_alloc, std::length_error
    return Status::kOutOfMemory;
  }
  if (!Init()) return pool_.Finish();
  const int iterations = std::max(0, opts_.max_iterations);
  for (int it = 1; it <= iterations; ++it) {
    bool reseeded = false;
    if (!Update(&reseeded)) break;
    pool_.progress.store(static_cast<size_t>(it), std::memory_order_relaxed);
    if (it == iterations) break;
    size_t changes = 0;
    if (!Assign(&changes)) break;
    if (changes == 0 && !reseeded) break;
  }
  return pool_.Finish();
}

}  // namespace

Status KMeans(const float* rows, size_t n, size_t dim, const KMeansOptions& options,
              float* centroids) {
  const size_t k = options.k;
  if (rows == nullptr || centroids == nullptr || n == 0 || dim == 0 || k == 0 ||
      n > UINT32_MAX || k > UINT32_MAX) {
    return Status::kInvalidArgument;
  }
  if (n > SIZE_MAX / sizeof(float) / dim || k > SIZE_MAX / sizeof(double) / dim) {
    return Status::kOutOfMemory;
  }
  try {
    Pool pool(options.poll, options.poll_ctx);
    if (pool.Poll()) return Status::kCancelled;  // the start
    if (k >= n) {
      // Every row is a centroid (centroid j = row j mod n); nothing to iterate.
      for (size_t j = 0; j < k; ++j) {
        std::memcpy(centroids + j * dim, rows + (j % n) * dim, dim * sizeof(float));
        if ((j & 1023) == 1023 && pool.ShouldStop(0)) break;
      }
      return pool.Finish();
    }
    int threads = std::clamp(options.threads, 1, kMaxThreads);
    if (static_cast<size_t>(threads) > n) threads = static_cast<int>(n);
    pool.Start(threads);
    KMeansRun run(rows, n, dim, options, centroids, &pool);
    return run.Run();
  } catch (...) {  // std::system_error from a mutex: a backstop
    return Status::kOutOfMemory;
  }
}

Status AssignNearest(const float* rows, size_t n, size_t row_stride, size_t dim,
                     const float* centroids, size_t k, kernels::DistanceFn dist, int threads,
                     bool (*poll)(void*, size_t), void* poll_ctx, uint32_t* out) {
  if (centroids == nullptr || dist == nullptr || dim == 0 || row_stride < dim || k == 0 ||
      k > UINT32_MAX || (n > 0 && (rows == nullptr || out == nullptr))) {
    return Status::kInvalidArgument;
  }
  if ((n > 0 && (n - 1 > (SIZE_MAX / sizeof(float) - dim) / row_stride)) ||
      k > SIZE_MAX / sizeof(float) / dim) {
    return Status::kOutOfMemory;  // no such arrays
  }
  const size_t chunk = ScanChunkRows(k, dim);
  const size_t chunks = (n + chunk - 1) / chunk;
  int t = std::clamp(threads, 1, kMaxThreads);
  if (static_cast<size_t>(t) > chunks) t = static_cast<int>(std::max<size_t>(1, chunks));
  std::vector<Scratch> scratch;  // declared before the pool: outlives its threads
  try {
    scratch.resize(static_cast<size_t>(t));
    for (Scratch& s : scratch) {
      s.rows.resize(chunk);
      s.d1.resize(chunk);
      s.d2.resize(chunk);
    }
  } catch (...) {
    return Status::kOutOfMemory;
  }
  try {
    Pool pool(poll, poll_ctx);
    if (pool.Poll()) return Status::kCancelled;  // the start
    pool.Start(t);
    auto assign = [&](size_t c, int w) {
      Scratch& s = scratch[static_cast<size_t>(w)];
      const size_t b = c * chunk, e = std::min(n, b + chunk);
      for (size_t i = b; i < e; ++i) s.rows[i - b] = rows + i * row_stride;
      ScanNearest(s.rows.data(), e - b, centroids, k, dim, dist, out + b, s.d1.data(),
                  s.d2.data());
      pool.progress.fetch_add(e - b, std::memory_order_relaxed);
    };
    pool.Run(chunks, assign);
    return pool.Finish();
  } catch (...) {
    return Status::kOutOfMemory;
  }
}

}  // namespace vecann::core
