// core::LocalityOrder, the order the build writes nodes to pages in.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/graph_order.h"
#include "graph_search.h"
#include "kernels/distance.h"

namespace vecann::core {
namespace {

HnswGraph Build(size_t n, size_t dim, uint32_t seed, std::vector<float>* rows) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  rows->resize(n * dim);
  for (float& x : *rows) x = g(rng);
  HnswGraph graph;
  BuildOptions o;
  o.params.m = 8;
  EXPECT_EQ(BuildGraph(rows->data(), n, dim, kernels::Kernels().squared_l2, o, &graph), Status::kOk);
  return graph;
}

TEST(LocalityOrder, IsAPermutationStartingAtTheEntryPointInBreadthFirstOrder) {
  std::vector<float> rows;
  const HnswGraph g = Build(2000, 8, 1, &rows);
  std::vector<uint32_t> order(g.size());
  std::vector<uint8_t> placed(g.size());
  LocalityOrder(g, order.data(), placed.data());
  std::vector<size_t> position(g.size(), g.size());
  for (size_t p = 0; p < order.size(); ++p) {
    ASSERT_LT(order[p], g.size());
    ASSERT_EQ(position[order[p]], g.size()) << "node " << order[p] << " placed twice";
    position[order[p]] = p;
  }
  EXPECT_EQ(order[0], g.entry_point());
  // The entry point's neighbours come right after it, in list order.
  int count = 0;
  const uint32_t* nb = g.neighbors(g.entry_point(), 0, &count);
  for (int i = 0; i < count; ++i) EXPECT_EQ(position[nb[i]], static_cast<size_t>(i + 1));
  // Breadth-first: every node but the first of a run is placed after one of
  // its in-neighbours, so links mostly point to nearby positions.
  size_t near = 0, links = 0;
  for (uint32_t v = 0; v < g.size(); ++v) {
    const uint32_t* l = g.neighbors(v, 0, &count);
    for (int i = 0; i < count; ++i, ++links) {
      const size_t a = position[v], b = position[l[i]];
      near += (a > b ? a - b : b - a) <= 64;
    }
  }
  EXPECT_GT(static_cast<double>(near) / static_cast<double>(links), 0.2);
}

TEST(LocalityOrder, EmptyAndSingleNodeGraphs) {
  HnswGraph empty;
  uint32_t order = 7;
  uint8_t placed = 9;
  LocalityOrder(empty, &order, &placed);  // nothing to write
  EXPECT_EQ(order, 7u);
  EXPECT_EQ(placed, 9);
  std::vector<float> rows;
  const HnswGraph one = Build(1, 4, 2, &rows);
  LocalityOrder(one, &order, &placed);
  EXPECT_EQ(order, 0u);
}

}  // namespace
}  // namespace vecann::core
