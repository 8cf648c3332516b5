// The shared layer search (core/layer_search.h) in the modes the index scan
// uses: continued batches past ef, nodes that are passed through but never
// returned (deleted rows), a visit limit. The accessor here mirrors the
// on-disk one (src/hnsw/search.cpp) over an in-memory graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/hnsw_build.h"
#include "core/layer_search.h"
#include "core/memory_graph.h"
#include "graph_search.h"
#include "kernels/distance.h"

namespace vecann::core {
namespace {

struct Data {
  size_t n, dim;
  std::vector<float> rows;
  HnswGraph graph;
};

Data MakeData(size_t n, size_t dim, uint32_t seed) {
  Data d{n, dim, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_real_distribution<float> centre(-1.0f, 1.0f);
  std::vector<float> centres(20 * dim);
  for (float& c : centres) c = centre(rng);
  d.rows.resize(n * dim);
  for (size_t i = 0; i < n; ++i) {
    const size_t c = rng() % 20;
    for (size_t j = 0; j < dim; ++j) d.rows[i * dim + j] = centres[c * dim + j] + noise(rng);
  }
  BuildOptions o;
  o.params.m = 8;
  o.params.ef_construction = 64;
  EXPECT_EQ(BuildGraph(d.rows.data(), n, RowFormat{dim, dim, kernels::Kernels().squared_l2, nullptr}, o, &d.graph),
            Status::kOk);
  return d;
}

// Like the on-disk accessor: candidate ids number the visits (not the
// nodes), deleted nodes are no results, and a visit limit stops the search.
class VisitTableGraph {
 public:
  using Ref = uint32_t;
  VisitTableGraph(const Data& d, const float* query, const std::vector<uint8_t>& deleted)
      : d_(d), query_(query), deleted_(deleted), visited_(d.n, 0) {}

  void NewLayer(int level) {
    level_ = level;
    std::fill(visited_.begin(), visited_.end(), 0);
  }
  bool FirstVisit(uint32_t node) {
    if (visited_[node]) return false;
    visited_[node] = 1;
    return true;
  }
  // All or nothing, as on disk: the limit is checked before a group.
  size_t VisitMany(const uint32_t* nodes, size_t n, Candidate* out, uint8_t* results) {
    if (Stop()) return 0;
    for (size_t i = 0; i < n; ++i) {
      out[i].distance = kernels::Kernels().squared_l2(query_, &d_.rows[nodes[i] * d_.dim], d_.dim);
      results[i] = !deleted_[nodes[i]];
      visits_.push_back(nodes[i]);
      out[i].id = static_cast<uint32_t>(visits_.size() - 1);
    }
    return n;
  }
  const uint32_t* Links(uint32_t id, size_t* n) {
    int c = 0;
    const uint32_t* l = d_.graph.neighbors(visits_[id], level_, &c);
    *n = static_cast<size_t>(c);
    return l;
  }
  uint32_t RefOf(uint32_t id) const { return visits_[id]; }
  void Prefetch(uint32_t) const {}
  void PrefetchLinks(uint32_t) const {}
  bool Stop() const { return visit_limit_ != 0 && visits_.size() >= visit_limit_; }
  Candidate* Resize(Candidate* old, uint32_t, uint32_t capacity) {
    void* p = std::realloc(old, sizeof(Candidate) * capacity);
    if (p == nullptr) std::abort();
    return static_cast<Candidate*>(p);
  }

  uint32_t node(uint32_t id) const { return visits_[id]; }
  size_t visits() const { return visits_.size(); }
  void set_visit_limit(size_t limit) { visit_limit_ = limit; }

 private:
  const Data& d_;
  const float* query_;
  const std::vector<uint8_t>& deleted_;
  std::vector<uint8_t> visited_;
  std::vector<uint32_t> visits_;
  int level_ = 0;
  size_t visit_limit_ = 0;
};

// A continuable search over VisitTableGraph from the graph's entry point,
// descended to level 0.
struct ScanLike {
  VisitTableGraph g;
  std::vector<uint32_t> fresh;
  std::vector<Candidate> found;
  std::vector<uint8_t> results;
  LayerSearch<VisitTableGraph> s;
  ScanLike(const Data& d, const float* query, const std::vector<uint8_t>& deleted, bool continuable)
      : g(d, query, deleted),
        fresh(static_cast<size_t>(MaxLinks(d.graph.m(), 0))),
        found(fresh.size()),
        results(fresh.size()) {
    s.Init(&g, ExpansionBuffers<uint32_t>{fresh.data(), found.data(), results.data()}, continuable);
    uint32_t entries[kDescentBeam] = {d.graph.entry_point()};
    s.Start(d.graph.max_level(), entries, 1);
    const size_t n = Descend(&s, &g, d.graph.max_level(), 0, entries, 1);
    s.Start(0, entries, n);
  }
  ~ScanLike() {
    for (int i = 0; i < LayerSearch<VisitTableGraph>::kHeaps; ++i) std::free(s.heaps()[i].data);
  }
};

TEST(LayerSearch, ContinuedBatchesReturnEveryLiveNodeOnceAndNoDeletedOne) {
  const Data d = MakeData(3000, 16, 1);
  std::vector<uint8_t> deleted(d.n, 0);
  std::mt19937 rng(5);
  for (size_t i = 0; i < d.n; ++i) deleted[i] = rng() % 10 < 3;  // 30% deleted
  const float* query = &d.rows[17 * d.dim];
  ScanLike scan(d, query, deleted, true);
  std::vector<uint32_t> seen(d.n, 0);
  std::vector<Candidate> batch(10);
  size_t returned = 0, batches = 0;
  for (;;) {
    const size_t k = scan.s.Batch(10, batch.data());
    if (k == 0) break;
    ++batches;
    ASSERT_LE(k, 10u);
    for (size_t i = 0; i < k; ++i) {
      if (i > 0) {
        EXPECT_LE(batch[i - 1].distance, batch[i].distance);
      }
      const uint32_t node = scan.g.node(batch[i].id);
      EXPECT_FALSE(deleted[node]) << "a deleted node was returned";
      EXPECT_EQ(seen[node]++, 0u) << "node " << node << " returned twice";
      ++returned;
    }
  }
  EXPECT_FALSE(scan.s.stopped());
  size_t live = 0;
  for (size_t i = 0; i < d.n; ++i) live += !deleted[i];
  // The build leaves every node reachable at level 0, deleted ones pass
  // searches through: the batches together are every live node.
  EXPECT_EQ(returned, live);
  EXPECT_GT(batches, 100u);
}

TEST(LayerSearch, FirstContinuableBatchIsTheClassicSearch) {
  const Data d = MakeData(3000, 16, 2);
  std::vector<uint8_t> none(d.n, 0);
  for (size_t q = 0; q < 50; ++q) {
    const float* query = &d.rows[(q * 37) % d.n * d.dim];
    ScanLike a(d, query, none, true);
    ScanLike b(d, query, none, false);
    std::vector<Candidate> ra(40), rb(40);
    const size_t ka = a.s.Batch(40, ra.data());
    const size_t kb = b.s.Batch(40, rb.data());
    ASSERT_EQ(ka, kb);
    for (size_t i = 0; i < ka; ++i) {
      EXPECT_EQ(a.g.node(ra[i].id), b.g.node(rb[i].id));
      EXPECT_EQ(ra[i].distance, rb[i].distance);
    }
  }
}

TEST(LayerSearch, FirstBatchFindsTheNearestLiveNodes) {
  const Data d = MakeData(4000, 16, 3);
  std::vector<uint8_t> deleted(d.n, 0);
  std::mt19937 rng(9);
  for (size_t i = 0; i < d.n; ++i) deleted[i] = rng() % 2;  // half deleted
  size_t hits = 0, total = 0;
  for (size_t q = 0; q < 50; ++q) {
    const float* query = &d.rows[(q * 71 + 3) % d.n * d.dim];
    std::vector<std::pair<float, uint32_t>> exact;
    for (uint32_t i = 0; i < d.n; ++i) {
      if (!deleted[i]) exact.push_back({kernels::Kernels().squared_l2(query, &d.rows[i * d.dim], d.dim), i});
    }
    std::sort(exact.begin(), exact.end());
    ScanLike scan(d, query, deleted, true);
    std::vector<Candidate> batch(64);
    const size_t k = scan.s.Batch(64, batch.data());
    ASSERT_EQ(k, 64u);
    for (size_t i = 0; i < 10; ++i) {
      const uint32_t want = exact[i].second;
      for (size_t j = 0; j < 10; ++j) hits += scan.g.node(batch[j].id) == want;
    }
    total += 10;
  }
  EXPECT_GE(static_cast<double>(hits) / static_cast<double>(total), 0.95);
}

TEST(LayerSearch, VisitLimitStopsTheSearch) {
  const Data d = MakeData(3000, 16, 4);
  std::vector<uint8_t> none(d.n, 0);
  ScanLike scan(d, &d.rows[0], none, true);
  const size_t before = scan.g.visits();
  scan.g.set_visit_limit(before + 200);
  std::vector<Candidate> batch(10);
  while (scan.s.Batch(10, batch.data()) > 0) {
  }
  EXPECT_TRUE(scan.s.stopped());
  // The limit is checked before each group of a node's new neighbours.
  EXPECT_GE(scan.g.visits(), before + 200);
  EXPECT_LT(scan.g.visits(), before + 200 + static_cast<size_t>(MaxLinks(d.graph.m(), 0)));
}

TEST(LayerSearch, SearchGraphHelperAgreesWithBruteForceOnASmallGraph) {
  const Data d = MakeData(500, 8, 6);
  std::vector<Candidate> res;
  ASSERT_EQ(SearchGraph(d.graph, d.rows.data(), d.dim, kernels::Kernels().squared_l2, &d.rows[0], 5, 500, &res),
            Status::kOk);
  ASSERT_EQ(res.size(), 5u);
  std::vector<std::pair<float, uint32_t>> exact;
  for (uint32_t i = 0; i < d.n; ++i) {
    exact.push_back({kernels::Kernels().squared_l2(&d.rows[0], &d.rows[i * d.dim], d.dim), i});
  }
  std::sort(exact.begin(), exact.end());
  // ef = n: the search sees the whole (connected) graph, so it is exact.
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(res[i].id, exact[i].second);
    EXPECT_EQ(res[i].distance, exact[i].first);
  }
}

}  // namespace
}  // namespace vecann::core
