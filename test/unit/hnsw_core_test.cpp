// GoogleTest suite of the Postgres-free HNSW core (src/core): level draw,
// neighbour selection heuristic, graph invariants, recall on SIFT10K (or on
// generated clustered data when the dataset folder is absent), inner-product
// recall, cancellation and poll-thread discipline, degenerate inputs.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/hnsw_build.h"
#include "core/hnsw_graph.h"
#include "core/hnsw_types.h"
#include "core/level.h"
#include "core/select_neighbors.h"
#include "fvecs.h"
#include "graph_search.h"
#include "kernels/quantize.h"
#include "kernels/distance.h"

#ifndef VECANN_DATA_DIR
#define VECANN_DATA_DIR "/nonexistent"
#endif

namespace vecann::core {
namespace {

using Clock = std::chrono::steady_clock;

kernels::DistanceFn L2() { return kernels::Kernels().squared_l2; }
kernels::DistanceFn NegIP() { return kernels::Kernels().neg_inner_product; }

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// A base set, queries, and the exact k nearest base rows of each query.
struct Dataset {
  std::string name;
  size_t dim = 0;
  size_t n = 0;
  size_t nq = 0;
  std::vector<float> base;
  std::vector<float> queries;
  size_t gt_k = 0;
  std::vector<int32_t> gt;  // nq * gt_k, nearest first
};

// Exact k nearest neighbours by brute force.
void BruteForce(Dataset* ds, size_t k, kernels::DistanceFn dist) {
  ds->gt_k = k;
  ds->gt.assign(ds->nq * k, -1);
  std::vector<Candidate> all(ds->n);
  for (size_t q = 0; q < ds->nq; ++q) {
    const float* qv = &ds->queries[q * ds->dim];
    for (size_t i = 0; i < ds->n; ++i) {
      all[i] = Candidate{dist(qv, &ds->base[i * ds->dim], ds->dim), static_cast<uint32_t>(i)};
    }
    const size_t kk = std::min(k, ds->n);
    std::partial_sort(all.begin(), all.begin() + kk, all.end(), CandidateLess());
    for (size_t j = 0; j < kk; ++j) ds->gt[q * k + j] = static_cast<int32_t>(all[j].id);
  }
}

// Gaussian blobs around random centres: a rough stand-in for real embeddings.
Dataset MakeClustered(size_t n, size_t nq, size_t dim, size_t clusters, uint64_t seed) {
  Dataset ds;
  ds.name = "clustered";
  ds.dim = dim;
  ds.n = n;
  ds.nq = nq;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> centre(0.0f, 10.0f);
  std::normal_distribution<float> spread(0.0f, 2.0f);
  std::uniform_int_distribution<size_t> pick(0, clusters - 1);
  std::vector<float> centres(clusters * dim);
  for (float& c : centres) c = centre(rng);
  auto fill = [&](std::vector<float>* out, size_t rows) {
    out->resize(rows * dim);
    for (size_t i = 0; i < rows; ++i) {
      const size_t c = pick(rng);
      for (size_t d = 0; d < dim; ++d) (*out)[i * dim + d] = centres[c * dim + d] + spread(rng);
    }
  };
  fill(&ds.base, n);
  fill(&ds.queries, nq);
  BruteForce(&ds, 10, L2());
  return ds;
}

// SIFT10K from `dir` (siftsmall_{base,query}.fvecs + siftsmall_groundtruth.ivecs),
// or generated clustered data of the same shape's spirit when it is missing.
Dataset LoadSiftOrGenerate(const std::string& dir) {
  Dataset ds;
  size_t bd = 0, qd = 0, gd = 0, gn = 0;
  std::vector<int32_t> gt;
  if (test::ReadFvecs(dir + "/siftsmall/siftsmall_base.fvecs", &ds.base, &bd, &ds.n) &&
      test::ReadFvecs(dir + "/siftsmall/siftsmall_query.fvecs", &ds.queries, &qd, &ds.nq) &&
      test::ReadIvecs(dir + "/siftsmall/siftsmall_groundtruth.ivecs", &gt, &gd, &gn) && bd == qd &&
      gn == ds.nq && gd >= 10) {
    ds.name = "siftsmall";
    ds.dim = bd;
    ds.gt_k = gd;
    ds.gt = std::move(gt);
    return ds;
  }
  return MakeClustered(5000, 100, 32, 50, 42);
}

double Recall(const HnswGraph& g, const Dataset& ds, kernels::DistanceFn dist, size_t k,
              size_t ef) {
  size_t hits = 0;
  std::vector<Candidate> res;
  for (size_t q = 0; q < ds.nq; ++q) {
    EXPECT_EQ(SearchGraph(g, ds.base.data(), ds.dim, dist, &ds.queries[q * ds.dim], k, ef, &res),
              Status::kOk);
    for (size_t j = 1; j < res.size(); ++j) EXPECT_LE(res[j - 1].distance, res[j].distance);
    for (const Candidate& c : res) {
      const int32_t* row = &ds.gt[q * ds.gt_k];
      if (std::find(row, row + k, static_cast<int32_t>(c.id)) != row + k) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(ds.nq * k);
}

// Structural invariants every built graph must satisfy.
void CheckInvariants(const HnswGraph& g) {
  const size_t n = g.size();
  if (n == 0) {
    EXPECT_EQ(g.entry_point(), kInvalidId);
    return;
  }
  ASSERT_LT(g.entry_point(), n);
  EXPECT_EQ(g.level(g.entry_point()), g.max_level());
  size_t bad = 0;
  for (uint32_t v = 0; v < n; ++v) {
    EXPECT_LE(g.level(v), g.max_level());
    for (int l = 0; l <= g.level(v); ++l) {
      int c = -1;
      const uint32_t* nb = g.neighbors(v, l, &c);
      ASSERT_GE(c, 0);
      ASSERT_LE(c, MaxLinks(g.m(), l));
      std::vector<uint32_t> s(nb, nb + c);
      for (uint32_t u : s) {
        if (u >= n || u == v || g.level(u) < l) ++bad;
      }
      std::sort(s.begin(), s.end());
      if (std::adjacent_find(s.begin(), s.end()) != s.end()) ++bad;
    }
  }
  EXPECT_EQ(bad, 0u) << "self links, duplicates, bad ids or level violations";
  // Every node reachable from the entry point at level 0.
  std::vector<char> seen(n, 0);
  std::vector<uint32_t> queue{g.entry_point()};
  seen[g.entry_point()] = 1;
  for (size_t h = 0; h < queue.size(); ++h) {
    int c = 0;
    const uint32_t* nb = g.neighbors(queue[h], 0, &c);
    for (int i = 0; i < c; ++i) {
      if (nb[i] < n && !seen[nb[i]]) {
        seen[nb[i]] = 1;
        queue.push_back(nb[i]);
      }
    }
  }
  EXPECT_EQ(queue.size(), n) << "nodes unreachable from the entry point at level 0";
}

BuildOptions Options(int threads, int m = 16, int ef_construction = 64) {
  BuildOptions o;
  o.params.m = m;
  o.params.ef_construction = ef_construction;
  o.threads = threads;
  o.seed = 1234;
  return o;
}

// ---------------------------------------------------------------------------
// Level draw

TEST(Level, Formula) {
  EXPECT_EQ(DrawLevel(1.0, 16, kMaxLevel), 0);
  EXPECT_EQ(DrawLevel(0.5, 16, kMaxLevel), 0);
  EXPECT_EQ(DrawLevel(0.05, 16, kMaxLevel), 1);   // -ln(.05)/ln(16) = 1.08
  EXPECT_EQ(DrawLevel(0.001, 16, kMaxLevel), 2);  // 2.49
  EXPECT_EQ(DrawLevel(1e-300, 16, kMaxLevel), kMaxLevel);
  EXPECT_EQ(DrawLevel(0.0, 16, 5), 5);
  EXPECT_EQ(DrawLevel(0.001, 16, 1), 1);
  EXPECT_EQ(DrawLevel(0.3, 2, kMaxLevel), 1);  // -ln(.3)/ln(2) = 1.74
}

TEST(Level, Distribution) {
  std::mt19937_64 rng(7);
  const int draws = 1000000;
  int at_least_1 = 0, at_least_2 = 0;
  for (int i = 0; i < draws; ++i) {
    const double u = UniformFromBits(rng());
    ASSERT_GT(u, 0.0);
    ASSERT_LE(u, 1.0);
    const int l = DrawLevel(u, 16, kMaxLevel);
    at_least_1 += l >= 1;
    at_least_2 += l >= 2;
  }
  // P(level >= l) = 16^-l: 62500 and 3906 expected; allow ~6 sigma.
  EXPECT_NEAR(at_least_1, 62500, 1500);
  EXPECT_NEAR(at_least_2, 3906, 400);
}

TEST(Types, MaxLinks) {
  EXPECT_EQ(MaxLinks(16, 0), 32);
  EXPECT_EQ(MaxLinks(16, 1), 16);
  EXPECT_EQ(MaxLinks(16, 5), 16);
  EXPECT_NEAR(LevelMultiplier(16), 1.0 / std::log(16.0), 1e-12);
}

// ---------------------------------------------------------------------------
// Neighbour selection heuristic on hand-made 2-D points; the base is (0,0).

struct Points2D {
  std::vector<float> xy;  // id i at xy[2i], xy[2i+1]
  float Dist(uint32_t a, uint32_t b) const {
    const float dx = xy[2 * a] - xy[2 * b], dy = xy[2 * a + 1] - xy[2 * b + 1];
    return dx * dx + dy * dy;
  }
  Candidate ToBase(uint32_t id) const {
    return Candidate{xy[2 * id] * xy[2 * id] + xy[2 * id + 1] * xy[2 * id + 1], id};
  }
};

TEST(SelectNeighbors, PrunesShadowedCandidate) {
  // 0 = (1,0), 1 = (2,0) lies behind 0, 2 = (0,1.5) in another direction.
  Points2D p{{1, 0, 2, 0, 0, 1.5f}};
  Candidate c[3] = {p.ToBase(0), p.ToBase(1), p.ToBase(2)};
  SortCandidates(c, 3);
  ASSERT_EQ(c[0].id, 0u);
  ASSERT_EQ(c[1].id, 2u);
  ASSERT_EQ(c[2].id, 1u);
  auto pd = [&p](uint32_t a, uint32_t b) { return p.Dist(a, b); };
  Candidate out[3];
  // Two slots: 1 is closer to 0 (distance 1) than to the base (4): pruned.
  size_t n = SelectNeighbors(c, 3, pd, 2, out);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_EQ(out[1].id, 2u);
  // Without keepPrunedConnections a third slot stays empty.
  n = SelectNeighbors(c, 3, pd, 3, out, /*keep_pruned=*/false);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_EQ(out[1].id, 2u);
  // One slot: the nearest.
  n = SelectNeighbors(c, 3, pd, 1, out);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(out[0].id, 0u);
}

TEST(SelectNeighbors, FillsFreeSlotsFromPrunedInDistanceOrder) {
  // 0 = (1,0) kept; 1 = (2,0) pruned (shadowed by 0); 2 = (0,3) kept;
  // 3 = (3,0) pruned. With 3 slots the pruned 1 fills the free slot, and the
  // output is nearest first: 0 (1), 1 (4), 2 (9).
  Points2D p{{1, 0, 2, 0, 0, 3, 3, 0}};
  Candidate c[4] = {p.ToBase(3), p.ToBase(2), p.ToBase(1), p.ToBase(0)};
  SortCandidates(c, 4);
  auto pd = [&p](uint32_t a, uint32_t b) { return p.Dist(a, b); };
  Candidate out[4];
  size_t n = SelectNeighbors(c, 4, pd, 3, out);
  ASSERT_EQ(n, 3u);
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_EQ(out[1].id, 1u);
  EXPECT_EQ(out[2].id, 2u);
  EXPECT_FLOAT_EQ(out[1].distance, 4.0f);
  // Four slots: everything, nearest first.
  n = SelectNeighbors(c, 4, pd, 4, out);
  ASSERT_EQ(n, 4u);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(out[i].id, i);
  // Without filling, only the two kept.
  n = SelectNeighbors(c, 4, pd, 4, out, false);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_EQ(out[1].id, 2u);
}

TEST(SelectNeighbors, EqualDistancesArePruned) {
  // Identical points: none is strictly closer to the base than to the first
  // kept one, so only the first survives the heuristic; filling restores them.
  Points2D p{{1, 1, 1, 1, 1, 1}};
  Candidate c[3] = {p.ToBase(0), p.ToBase(1), p.ToBase(2)};
  SortCandidates(c, 3);
  auto pd = [&p](uint32_t a, uint32_t b) { return p.Dist(a, b); };
  Candidate out[3];
  EXPECT_EQ(SelectNeighbors(c, 3, pd, 2, out, false), 1u);
  EXPECT_EQ(SelectNeighbors(c, 3, pd, 2, out), 2u);
  EXPECT_EQ(SelectNeighbors(c, 0, pd, 2, out), 0u);
  EXPECT_EQ(SelectNeighbors(c, 3, pd, 0, out), 0u);
}

TEST(SelectNeighbors, ReportsWhichEntriesPassOneKept) {
  Points2D p{{1, 0, 2, 0, 0, 3, 3, 0}};
  Candidate c[4] = {p.ToBase(0), p.ToBase(1), p.ToBase(2), p.ToBase(3)};
  SortCandidates(c, 4);
  auto pd = [&p](uint32_t a, uint32_t b) { return p.Dist(a, b); };
  Candidate out[10];
  uint8_t kept[10];
  ASSERT_EQ(SelectNeighbors(c, 4, pd, 3, out, true, kept), 3u);
  EXPECT_EQ(out[0].id, 0u);
  EXPECT_EQ(out[1].id, 1u);
  EXPECT_EQ(out[2].id, 2u);
  EXPECT_EQ(kept[0], 1);
  EXPECT_EQ(kept[1], 0);  // added back by keepPrunedConnections
  EXPECT_EQ(kept[2], 1);
  // Fewer candidates than slots: everything, flags still computed.
  ASSERT_EQ(SelectNeighbors(c, 4, pd, 10, out, true, kept), 4u);
  const uint8_t want[4] = {1, 0, 1, 0};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(kept[i], want[i]) << i;
}

// AddNeighbor must give exactly what a full re-selection over the old list
// plus the new candidate gives, list after list, on random points.
TEST(SelectNeighbors, AddNeighborMatchesFullReselection) {
  std::mt19937_64 rng(21);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t dim = 1 + trial % 4;
    const size_t max_out = 1 + trial % 12;
    const size_t npts = 60;
    std::vector<float> pts(npts * dim);
    // Coarse values so that equal distances (ties) happen too.
    for (float& x : pts) x = std::round(g(rng) * 2.0f);
    auto pd = [&](uint32_t a, uint32_t b) {
      float s = 0;
      for (size_t d = 0; d < dim; ++d) {
        const float t = pts[a * dim + d] - pts[b * dim + d];
        s += t * t;
      }
      return s;
    };
    const uint32_t base = 0;
    std::vector<Candidate> list(max_out + 1);
    std::vector<uint8_t> kept(max_out + 1);
    size_t count = 0;
    uint32_t first = 1;
    if (trial % 2 == 1) {
      // Start from a list made by SelectNeighbors (with pruned entries added
      // back), as a freshly inserted node's list is.
      std::vector<Candidate> init;
      for (first = 1; first <= 3 * max_out; ++first)
        init.push_back(Candidate{pd(base, first), first});
      SortCandidates(init.data(), init.size());
      count =
          SelectNeighbors(init.data(), init.size(), pd, max_out, list.data(), true, kept.data());
    }
    for (uint32_t id = first; id < npts; ++id) {
      const Candidate c{pd(base, id), id};
      // Reference: full selection over the current list plus c.
      std::vector<Candidate> cand(list.begin(), list.begin() + count);
      cand.push_back(c);
      SortCandidates(cand.data(), cand.size());
      std::vector<Candidate> ref(max_out);
      std::vector<uint8_t> ref_kept(max_out);
      const size_t nref =
          SelectNeighbors(cand.data(), cand.size(), pd, max_out, ref.data(), true, ref_kept.data());
      count = AddNeighbor(list.data(), kept.data(), count, max_out, c, pd);
      ASSERT_EQ(count, nref) << "trial " << trial << " id " << id;
      for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(list[i].id, ref[i].id) << "trial " << trial << " id " << id << " slot " << i;
        ASSERT_EQ(kept[i], ref_kept[i]) << "trial " << trial << " id " << id << " slot " << i;
      }
    }
  }
}

TEST(SelectNeighbors, SortCandidates) {
  std::mt19937 rng(3);
  for (size_t n : {0u, 1u, 2u, 17u, 64u, 65u, 300u}) {
    std::vector<Candidate> v(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = Candidate{static_cast<float>(rng() % 50), static_cast<uint32_t>(i)};
    SortCandidates(v.data(), v.size());
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end(), CandidateLess())) << n;
  }
}

// ---------------------------------------------------------------------------
// Build + search

TEST(HnswBuild, InvalidArguments) {
  std::vector<float> v(8, 1.0f);
  HnswGraph g;
  EXPECT_EQ(BuildGraph(v.data(), 2, 4, L2(), Options(1, 1), &g), Status::kInvalidArgument);
  EXPECT_EQ(BuildGraph(v.data(), 2, 0, L2(), Options(1), &g), Status::kInvalidArgument);
  EXPECT_EQ(BuildGraph(nullptr, 2, 4, L2(), Options(1), &g), Status::kInvalidArgument);
  EXPECT_EQ(BuildGraph(v.data(), 2, 4, nullptr, Options(1), &g), Status::kInvalidArgument);
  EXPECT_EQ(BuildGraph(v.data(), 2, 4, L2(), Options(1, 16, 0), &g), Status::kInvalidArgument);
  EXPECT_EQ(BuildGraph(v.data(), 2, 4, L2(), Options(1), nullptr), Status::kInvalidArgument);
  EXPECT_EQ(g.size(), 0u);
  // n == 0 is a valid, empty graph.
  EXPECT_EQ(BuildGraph(nullptr, 0, 4, L2(), Options(2), &g), Status::kOk);
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.entry_point(), kInvalidId);
  EXPECT_EQ(g.max_level(), -1);
  std::vector<Candidate> res;
  EXPECT_EQ(SearchGraph(g, nullptr, 4, L2(), v.data(), 5, 10, &res), Status::kOk);
  EXPECT_TRUE(res.empty());
}

TEST(HnswBuild, TinyGraphs) {
  for (int threads : {1, 2}) {
    for (size_t n : {1u, 2u, 3u}) {
      std::vector<float> v;
      for (size_t i = 0; i < n; ++i) {
        v.push_back(static_cast<float>(i));
        v.push_back(0.5f);
      }
      HnswGraph g;
      ASSERT_EQ(BuildGraph(v.data(), n, 2, L2(), Options(threads), &g), Status::kOk);
      ASSERT_EQ(g.size(), n);
      CheckInvariants(g);
      std::vector<Candidate> res;
      const float q[2] = {0.1f, 0.5f};
      ASSERT_EQ(SearchGraph(g, v.data(), 2, L2(), q, 10, 10, &res), Status::kOk);
      ASSERT_EQ(res.size(), n);
      EXPECT_EQ(res[0].id, 0u);
      if (n >= 2) {
        int c = 0;
        g.neighbors(0, 0, &c);
        EXPECT_EQ(c, static_cast<int>(n - 1));
      }
    }
  }
}

TEST(HnswBuild, DuplicateVectors) {
  for (int threads : {1, 2}) {
    const size_t n = 300, dim = 8;
    std::vector<float> v(n * dim, 0.25f);
    HnswGraph g;
    ASSERT_EQ(BuildGraph(v.data(), n, dim, L2(), Options(threads, 4, 16), &g), Status::kOk);
    CheckInvariants(g);
    std::vector<Candidate> res;
    ASSERT_EQ(SearchGraph(g, v.data(), dim, L2(), v.data(), 10, 40, &res), Status::kOk);
    ASSERT_EQ(res.size(), 10u);
    for (const Candidate& c : res) EXPECT_EQ(c.distance, 0.0f);
  }
}

TEST(HnswBuild, DeterministicWithOneThread) {
  Dataset ds = MakeClustered(2000, 0, 16, 20, 5);
  HnswGraph a, b;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(1), &a), Status::kOk);
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(1), &b), Status::kOk);
  ASSERT_EQ(a.entry_point(), b.entry_point());
  ASSERT_EQ(a.max_level(), b.max_level());
  for (uint32_t v = 0; v < ds.n; ++v) {
    ASSERT_EQ(a.level(v), b.level(v));
    for (int l = 0; l <= a.level(v); ++l) {
      int ca = 0, cb = 0;
      const uint32_t* na = a.neighbors(v, l, &ca);
      const uint32_t* nb = b.neighbors(v, l, &cb);
      ASSERT_EQ(ca, cb);
      ASSERT_TRUE(std::equal(na, na + ca, nb));
    }
  }
  // Levels come from the seed alone, whatever the thread count.
  HnswGraph c;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(2), &c), Status::kOk);
  for (uint32_t v = 0; v < ds.n; ++v) ASSERT_EQ(a.level(v), c.level(v));
}

TEST(HnswBuild, EstimateBytesBoundsActualUse) {
  Dataset ds = MakeClustered(3000, 0, 24, 10, 9);
  HnswGraph g;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(2), &g), Status::kOk);
  const size_t vectors = ds.n * ds.dim * sizeof(float);
  const size_t est = HnswGraph::EstimateBytes(ds.n, ds.dim, 16, 2);
  EXPECT_GE(est, vectors + g.MemoryBytes() + 2 * ds.n * sizeof(uint16_t));
  EXPECT_LT(est, 4 * (vectors + g.MemoryBytes()) + (16 << 20));  // not absurdly loose
  EXPECT_EQ(HnswGraph::EstimateBytes(SIZE_MAX, SIZE_MAX, 16), SIZE_MAX);
  g.Clear();
  EXPECT_EQ(g.size(), 0u);
}

void RunRecall(const Dataset& ds, int threads, double min_recall) {
  HnswGraph g;
  const auto t0 = Clock::now();
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(threads), &g), Status::kOk);
  const double build_s = Seconds(t0, Clock::now());
  CheckInvariants(g);
  const double r = Recall(g, ds, L2(), 10, 64);
  std::printf(
      "[ recall   ] %s n=%zu dim=%zu threads=%d: recall@10(ef=64)=%.4f build=%.3fs max_level=%d\n",
      ds.name.c_str(), ds.n, ds.dim, threads, r, build_s, g.max_level());
  EXPECT_GE(r, min_recall);
}

// The SIFT10K tests measure SIFT10K or are skipped, saying so (generated
// data has its own test below).
TEST(HnswRecall, Sift10kOneThread) {
  Dataset ds = LoadSiftOrGenerate(VECANN_DATA_DIR);
  if (ds.name != "siftsmall") GTEST_SKIP() << "SIFT10K absent from " << VECANN_DATA_DIR;
  RunRecall(ds, 1, 0.95);
}

TEST(HnswRecall, Sift10kTwoThreads) {
  Dataset ds = LoadSiftOrGenerate(VECANN_DATA_DIR);
  if (ds.name != "siftsmall") GTEST_SKIP() << "SIFT10K absent from " << VECANN_DATA_DIR;
  RunRecall(ds, 2, 0.95);
}

TEST(HnswRecall, GeneratedFallbackPath) {
  // The fallback of LoadSiftOrGenerate itself, whatever is installed.
  Dataset ds = LoadSiftOrGenerate("/nonexistent/vecann-data");
  ASSERT_EQ(ds.name, "clustered");
  ASSERT_EQ(ds.gt_k, 10u);
  RunRecall(ds, 1, 0.95);
  RunRecall(ds, 2, 0.95);
}

TEST(HnswRecall, ManyThreadsSmallM) {
  // More threads than cores and a small m (many upper levels) make the rare
  // concurrent paths happen: a node linked to by others before its own lists
  // are written, and a back-link that is already there.
  Dataset ds = MakeClustered(8000, 100, 16, 40, 31);
  HnswGraph g;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), Options(8, 4, 32), &g), Status::kOk);
  CheckInvariants(g);
  const double r = Recall(g, ds, L2(), 10, 64);
  std::printf("[ recall   ] clustered n=8000 dim=16 m=4 threads=8: recall@10(ef=64)=%.4f\n", r);
  EXPECT_GE(r, 0.9);
}

// The graph built over codes of a reduced format (kernels/quantize.h), with
// the queries compared to codes: the candidate order is approximate, so the
// check is that the exact top 10 is among the best 100 candidates (what a
// scan then orders by true distance), and for f16/bf16/i8 the recall of the
// code ordering itself.
TEST(HnswRecall, BuiltOverQuantizedCodes) {
  Dataset ds = LoadSiftOrGenerate(VECANN_DATA_DIR);
  struct Case {
    kernels::CodeFormat format;
    double min_top10_recall;     // code order, ef 64
    double min_top100_coverage;  // exact top 10 among the best 100, ef 100
  };
  const Case cases[] = {{kernels::CodeFormat::kF16, 0.95, 0.99},
                        {kernels::CodeFormat::kBF16, 0.93, 0.99},
                        {kernels::CodeFormat::kI8, 0.93, 0.99},
                        {kernels::CodeFormat::kBit, 0.0, 0.80}};
  for (const Case& c : cases) {
    const size_t words = kernels::CodeBytes(c.format, ds.dim) / 4;
    std::vector<float> codes(ds.n * words);
    for (size_t i = 0; i < ds.n; ++i) {
      kernels::Encode(c.format, &ds.base[i * ds.dim], ds.dim, kernels::ErrorNorm::kL2, &codes[i * words]);
    }
    const kernels::CodeKernelTable& k = kernels::CodeKernels(c.format);
    const RowFormat format{words, ds.dim, k.squared_l2, k.decode};
    HnswGraph g;
    ASSERT_EQ(BuildGraph(codes.data(), ds.n, format, Options(2), &g), Status::kOk);
    CheckInvariants(g);
    size_t hits10 = 0, hits100 = 0;
    std::vector<Candidate> res;
    for (size_t q = 0; q < ds.nq; ++q) {
      const int32_t* row = &ds.gt[q * ds.gt_k];
      ASSERT_EQ(SearchGraph(g, codes.data(), format, &ds.queries[q * ds.dim], 10, 64, &res), Status::kOk);
      for (const Candidate& x : res) hits10 += std::find(row, row + 10, static_cast<int32_t>(x.id)) != row + 10;
      ASSERT_EQ(SearchGraph(g, codes.data(), format, &ds.queries[q * ds.dim], 100, 100, &res), Status::kOk);
      for (const Candidate& x : res) hits100 += std::find(row, row + 10, static_cast<int32_t>(x.id)) != row + 10;
    }
    const double r10 = static_cast<double>(hits10) / static_cast<double>(ds.nq * 10);
    const double r100 = static_cast<double>(hits100) / static_cast<double>(ds.nq * 10);
    std::printf("[ recall   ] %s %s codes (%zu bytes/vector): recall@10(ef=64)=%.4f top10-in-100=%.4f\n",
                ds.name.c_str(), kernels::CodeFormatName(c.format), words * 4, r10, r100);
    EXPECT_GE(r10, c.min_top10_recall);
    EXPECT_GE(r100, c.min_top100_coverage);
  }
}

TEST(HnswRecall, InnerProductOnNormalizedVectors) {
  Dataset ds = MakeClustered(5000, 100, 32, 50, 77);
  auto normalize = [&](std::vector<float>* v, size_t rows) {
    for (size_t i = 0; i < rows; ++i) {
      float* x = &(*v)[i * ds.dim];
      double s = 0;
      for (size_t d = 0; d < ds.dim; ++d) s += static_cast<double>(x[d]) * x[d];
      const float inv = static_cast<float>(1.0 / std::sqrt(s));
      for (size_t d = 0; d < ds.dim; ++d) x[d] *= inv;
    }
  };
  normalize(&ds.base, ds.n);
  normalize(&ds.queries, ds.nq);
  ds.name = "clustered-normalized-ip";
  BruteForce(&ds, 10, NegIP());
  for (int threads : {1, 2}) {
    HnswGraph g;
    ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, NegIP(), Options(threads), &g), Status::kOk);
    CheckInvariants(g);
    const double r = Recall(g, ds, NegIP(), 10, 64);
    std::printf("[ recall   ] %s threads=%d: recall@10(ef=64)=%.4f\n", ds.name.c_str(), threads, r);
    EXPECT_GE(r, 0.95);
  }
}

// ---------------------------------------------------------------------------
// Cancellation and the poll callback

struct PollLog {
  std::thread::id caller;
  std::atomic<int> calls{0};
  std::atomic<int> wrong_thread{0};
  int cancel_on_call = -1;  // return true from this call on (1-based); -1 never
  size_t last_done = 0;
  Clock::time_point cancelled_at;
};

bool LoggingPoll(void* ctx, size_t nodes_done) {
  PollLog* log = static_cast<PollLog*>(ctx);
  if (std::this_thread::get_id() != log->caller) log->wrong_thread++;
  const int call = ++log->calls;
  log->last_done = nodes_done;
  const bool stop = log->cancel_on_call > 0 && call >= log->cancel_on_call;
  if (stop && call == log->cancel_on_call) log->cancelled_at = Clock::now();
  return stop;
}

TEST(HnswCancel, StopsPromptlyAndPollsOnlyOnCallingThread) {
  // 60k random vectors of 784 dims (Fashion-MNIST's shape).
  const size_t n = 60000, dim = 784;
  std::vector<float> v(n * dim);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& x : v) x = u(rng);
  // Stop at the second poll (right at the start), then later in the build.
  for (int cancel_on : {2, 30}) {
    for (int threads : {1, 2}) {
      PollLog log;
      log.caller = std::this_thread::get_id();
      log.cancel_on_call = cancel_on;
      BuildOptions o = Options(threads);
      o.poll = LoggingPoll;
      o.poll_ctx = &log;
      HnswGraph g;
      const auto t0 = Clock::now();
      const Status st = BuildGraph(v.data(), n, dim, L2(), o, &g);
      const auto t1 = Clock::now();
      std::printf(
          "[ cancel   ] threads=%d stop at poll %d: returned %.3fs after start, %.4fs after "
          "the stop, %zu nodes done\n",
          threads, cancel_on, Seconds(t0, t1), Seconds(log.cancelled_at, t1), log.last_done);
      EXPECT_EQ(st, Status::kCancelled);
      EXPECT_EQ(log.calls.load(), cancel_on);  // not called again once it said stop
      EXPECT_EQ(log.wrong_thread.load(), 0);
      EXPECT_LT(log.last_done, n);
      EXPECT_EQ(g.size(), 0u);
      EXPECT_LT(Seconds(t0, t1), 10.0) << "hang guard";
    }
  }
}

// Worker threads must run with every signal blocked (they live inside a
// Postgres backend); the calling thread's mask must come back unchanged.
std::thread::id g_caller_id;
std::atomic<int> g_unblocked_on_worker{0};
std::atomic<int> g_worker_calls{0};
float SignalCheckingL2(const float* a, const float* b, size_t n) {
  if (std::this_thread::get_id() != g_caller_id) {
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, nullptr, &cur);
    for (int sig :
         {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGCHLD, SIGPIPE}) {
      if (!sigismember(&cur, sig)) g_unblocked_on_worker++;
    }
    g_worker_calls++;
  }
  return kernels::Kernels().squared_l2(a, b, n);
}

TEST(HnswBuild, WorkersRunWithSignalsBlocked) {
  Dataset ds = MakeClustered(3000, 0, 16, 10, 23);
  g_caller_id = std::this_thread::get_id();
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  HnswGraph g;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, SignalCheckingL2, Options(2), &g),
            Status::kOk);
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  EXPECT_GT(g_worker_calls.load(), 0);  // the second thread did work
  EXPECT_EQ(g_unblocked_on_worker.load(), 0);
  for (int sig = 1; sig < 32; ++sig)
    EXPECT_EQ(sigismember(&before, sig), sigismember(&after, sig)) << sig;
  CheckInvariants(g);
}

TEST(HnswCancel, PollSeesProgressAndTheEnd) {
  Dataset ds = MakeClustered(4000, 0, 64, 20, 13);
  PollLog log;
  log.caller = std::this_thread::get_id();
  BuildOptions o = Options(2);
  o.poll = LoggingPoll;
  o.poll_ctx = &log;
  HnswGraph g;
  ASSERT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), o, &g), Status::kOk);
  EXPECT_GE(log.calls.load(), 2);  // at least the start and the end
  EXPECT_EQ(log.wrong_thread.load(), 0);
  EXPECT_EQ(log.last_done, ds.n);  // the last call reports every node
  CheckInvariants(g);
}

TEST(HnswCancel, CancelAtFirstPoll) {
  Dataset ds = MakeClustered(500, 0, 8, 5, 17);
  PollLog log;
  log.caller = std::this_thread::get_id();
  log.cancel_on_call = 1;  // the very first poll says stop
  BuildOptions o = Options(1);
  o.poll = LoggingPoll;
  o.poll_ctx = &log;
  HnswGraph g;
  EXPECT_EQ(BuildGraph(ds.base.data(), ds.n, ds.dim, L2(), o, &g), Status::kCancelled);
  EXPECT_EQ(log.calls.load(), 1);
  EXPECT_EQ(g.size(), 0u);
}

}  // namespace
}  // namespace vecann::core
