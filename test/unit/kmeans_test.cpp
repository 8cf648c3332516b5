// GoogleTest suite of the Postgres-free k-means (src/core/kmeans.h) behind the
// ivfflat lists: blob recovery, independence of the thread count and of
// everything but the seed, k >= n, k == 1, spherical centroids, the
// nearest-centroid assignment against a scalar brute force (row strides,
// ties), empty-cluster re-seeding, Lloyd's monotone cost, argument checks,
// cancellation and the poll-thread / signal-mask discipline.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/kmeans.h"
#include "kernels/distance.h"
#include "kernels_reference.h"

namespace vecann::core {
namespace {

using Clock = std::chrono::steady_clock;
namespace ref = kernels::reference;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Gaussian blobs: `per` rows around each of `blobs` centres drawn uniformly
// from [-spread, spread]^dim.
struct Blobs {
  size_t n = 0, dim = 0, blobs = 0;
  std::vector<float> rows;
  std::vector<float> centres;
  std::vector<uint32_t> label;  // blob of each row
};

Blobs MakeBlobs(size_t blobs, size_t per, size_t dim, float spread, float sigma, uint64_t seed) {
  Blobs b;
  b.n = blobs * per;
  b.dim = dim;
  b.blobs = blobs;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-spread, spread);
  std::normal_distribution<float> g(0.0f, sigma);
  b.centres.resize(blobs * dim);
  for (float& x : b.centres) x = u(rng);
  b.rows.resize(b.n * dim);
  b.label.resize(b.n);
  // Rows of the blobs interleaved, so no blob is one contiguous range.
  for (size_t i = 0; i < b.n; ++i) {
    const size_t c = i % blobs;
    b.label[i] = static_cast<uint32_t>(c);
    for (size_t d = 0; d < dim; ++d) b.rows[i * dim + d] = b.centres[c * dim + d] + g(rng);
  }
  return b;
}

std::vector<float> UniformRows(size_t n, size_t dim, uint64_t seed) {
  std::vector<float> v(n * dim);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (float& x : v) x = u(rng);
  return v;
}

void Normalize(std::vector<float>* rows, size_t dim) {
  for (size_t i = 0; i < rows->size() / dim; ++i) {
    float* r = rows->data() + i * dim;
    double nn = 0;
    for (size_t d = 0; d < dim; ++d) nn += static_cast<double>(r[d]) * r[d];
    const double inv = 1.0 / std::sqrt(nn);
    for (size_t d = 0; d < dim; ++d) r[d] = static_cast<float>(r[d] * inv);
  }
}

KMeansOptions Options(size_t k, int threads = 1) {
  KMeansOptions o;
  o.k = k;
  o.threads = threads;
  return o;
}

// Nearest centroid by a scalar double loop (ties: the lowest index).
uint32_t BruteNearest(const float* row, const float* centroids, size_t k, size_t dim,
                      double (*dist)(const float*, const float*, size_t)) {
  uint32_t best = 0;
  double bd = std::numeric_limits<double>::infinity();
  for (size_t j = 0; j < k; ++j) {
    const double d = dist(row, centroids + j * dim, dim);
    if (d < bd) {
      bd = d;
      best = static_cast<uint32_t>(j);
    }
  }
  return best;
}

double NegInnerProduct(const float* a, const float* b, size_t n) {
  return -ref::InnerProduct(a, b, n);
}

// Within-cluster sum of squares with every row at its nearest centroid.
double Wcss(const std::vector<float>& rows, size_t dim, const std::vector<float>& c, size_t k) {
  double sum = 0;
  for (size_t i = 0; i < rows.size() / dim; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < k; ++j) {
      best = std::min(best, ref::SquaredL2(&rows[i * dim], &c[j * dim], dim));
    }
    sum += best;
  }
  return sum;
}

std::vector<uint32_t> Assign(const std::vector<float>& rows, size_t dim,
                             const std::vector<float>& c, size_t k, int threads = 1) {
  std::vector<uint32_t> out(rows.size() / dim, UINT32_MAX);
  EXPECT_EQ(AssignNearest(rows.data(), out.size(), dim, dim, c.data(), k,
                          kernels::Kernels().squared_l2, threads, nullptr, nullptr, out.data()),
            Status::kOk);
  return out;
}

// ---------------------------------------------------------------------------
// Clustering quality and determinism

TEST(KMeans, RecoversSeparatedBlobs) {
  const size_t blobs = 12, dim = 16;
  const Blobs b = MakeBlobs(blobs, 250, dim, 10.0f, 0.1f, 1);
  for (int threads : {1, 2}) {
    std::vector<float> c(blobs * dim);
    ASSERT_EQ(KMeans(b.rows.data(), b.n, dim, Options(blobs, threads), c.data()), Status::kOk);
    // Every blob centre has a centroid close by (the mean of 250 rows of
    // sigma 0.1 is ~0.025 from it; blob centres are ~10 apart).
    for (size_t t = 0; t < blobs; ++t) {
      double best = std::numeric_limits<double>::infinity();
      for (size_t j = 0; j < blobs; ++j) {
        best = std::min(best, std::sqrt(ref::SquaredL2(&b.centres[t * dim], &c[j * dim], dim)));
      }
      EXPECT_LT(best, 0.1) << "blob " << t << " threads " << threads;
    }
    // Each cluster holds the rows of exactly one blob, and all of them.
    const std::vector<uint32_t> a = Assign(b.rows, dim, c, blobs);
    std::vector<int> blob_of(blobs, -1);
    std::vector<size_t> size(blobs, 0);
    for (size_t i = 0; i < b.n; ++i) {
      ++size[a[i]];
      if (blob_of[a[i]] < 0) blob_of[a[i]] = static_cast<int>(b.label[i]);
      EXPECT_EQ(blob_of[a[i]], static_cast<int>(b.label[i])) << "row " << i;
    }
    for (size_t j = 0; j < blobs; ++j) EXPECT_EQ(size[j], 250u) << "cluster " << j;
  }
}

TEST(KMeans, SameResultForAnyThreadCount) {
  const size_t dim = 24, k = 37;
  const Blobs b = MakeBlobs(20, 300, dim, 1.0f, 0.3f, 2);  // overlapping blobs
  for (bool spherical : {false, true}) {
    std::vector<float> rows = b.rows;
    if (spherical) Normalize(&rows, dim);
    std::vector<float> c1(k * dim), c2(k * dim), c3(k * dim);
    KMeansOptions o = Options(k, 1);
    o.spherical = spherical;
    ASSERT_EQ(KMeans(rows.data(), b.n, dim, o, c1.data()), Status::kOk);
    o.threads = 2;
    ASSERT_EQ(KMeans(rows.data(), b.n, dim, o, c2.data()), Status::kOk);
    o.threads = 3;
    ASSERT_EQ(KMeans(rows.data(), b.n, dim, o, c3.data()), Status::kOk);
    EXPECT_EQ(std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)), 0) << spherical;
    EXPECT_EQ(std::memcmp(c1.data(), c3.data(), c1.size() * sizeof(float)), 0) << spherical;
  }
}

TEST(KMeans, DeterministicForASeed) {
  const size_t dim = 10, k = 25;
  const std::vector<float> rows = UniformRows(4000, dim, 3);
  std::vector<float> a(k * dim), b(k * dim), c(k * dim);
  KMeansOptions o = Options(k, 2);
  o.seed = 42;
  ASSERT_EQ(KMeans(rows.data(), 4000, dim, o, a.data()), Status::kOk);
  ASSERT_EQ(KMeans(rows.data(), 4000, dim, o, b.data()), Status::kOk);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  o.seed = 43;  // the seed is used: another one gives other centroids
  ASSERT_EQ(KMeans(rows.data(), 4000, dim, o, c.data()), Status::kOk);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);
}

TEST(KMeans, MoreClustersThanRows) {
  const size_t dim = 5, n = 7, k = 12;
  std::vector<float> rows = UniformRows(n, dim, 4);
  std::memcpy(&rows[5 * dim], &rows[2 * dim], dim * sizeof(float));  // a duplicate row
  std::vector<float> c(k * dim, std::numeric_limits<float>::quiet_NaN());
  ASSERT_EQ(KMeans(rows.data(), n, dim, Options(k, 2), c.data()), Status::kOk);
  std::set<size_t> rows_used;
  for (size_t j = 0; j < k; ++j) {
    bool found = false;
    for (size_t i = 0; i < n && !found; ++i) {
      if (std::memcmp(&c[j * dim], &rows[i * dim], dim * sizeof(float)) == 0) {
        found = true;
        rows_used.insert(i);
      }
    }
    EXPECT_TRUE(found) << "centroid " << j << " is not a row";
  }
  // Every distinct row is a centroid (row 5 equals row 2).
  for (size_t i = 0; i < n; ++i) {
    if (i != 5) {
      EXPECT_TRUE(rows_used.count(i)) << "row " << i;
    }
  }
  const std::vector<uint32_t> a = Assign(rows, dim, c, k);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LT(a[i], k);
    EXPECT_EQ(std::memcmp(&c[a[i] * dim], &rows[i * dim], dim * sizeof(float)), 0) << i;
  }
  // k == n: the same.
  std::vector<float> c7(n * dim);
  ASSERT_EQ(KMeans(rows.data(), n, dim, Options(n), c7.data()), Status::kOk);
  const std::vector<uint32_t> a7 = Assign(rows, dim, c7, n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(std::memcmp(&c7[a7[i] * dim], &rows[i * dim], dim * sizeof(float)), 0) << i;
  }
}

TEST(KMeans, OneClusterIsTheMean) {
  const size_t n = 3001, dim = 33;
  std::vector<float> rows = UniformRows(n, dim, 5);
  for (size_t i = 0; i < n; ++i) rows[i * dim] += 100.0f;  // a large offset in one coordinate
  std::vector<double> mean(dim, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t d = 0; d < dim; ++d) mean[d] += rows[i * dim + d];
  }
  for (int threads : {1, 3}) {
    std::vector<float> c(dim);
    ASSERT_EQ(KMeans(rows.data(), n, dim, Options(1, threads), c.data()), Status::kOk);
    for (size_t d = 0; d < dim; ++d) {
      const double m = mean[d] / n;
      EXPECT_NEAR(c[d], m, 1e-6 * std::fabs(m) + 1e-7) << d;
    }
  }
}

TEST(KMeans, SphericalCentroidsHaveUnitLength) {
  const size_t dim = 32, k = 16;
  Blobs b = MakeBlobs(8, 200, dim, 1.0f, 0.5f, 6);
  Normalize(&b.rows, dim);
  KMeansOptions o = Options(k, 2);
  o.spherical = true;
  std::vector<float> c(k * dim);
  ASSERT_EQ(KMeans(b.rows.data(), b.n, dim, o, c.data()), Status::kOk);
  for (size_t j = 0; j < k; ++j) {
    EXPECT_NEAR(std::sqrt(ref::InnerProduct(&c[j * dim], &c[j * dim], dim)), 1.0, 1e-6) << j;
  }
  // Not the plain means (which are shorter than 1 for spread unit rows).
  o.spherical = false;
  std::vector<float> plain(k * dim);
  ASSERT_EQ(KMeans(b.rows.data(), b.n, dim, o, plain.data()), Status::kOk);
  double shortest = 1.0;
  for (size_t j = 0; j < k; ++j) {
    shortest = std::min(shortest, std::sqrt(ref::InnerProduct(&plain[j * dim], &plain[j * dim],
                                                              dim)));
  }
  EXPECT_LT(shortest, 0.99);
}

// A cluster whose mean is the zero vector gets a copy of one of its rows.
TEST(KMeans, SphericalZeroMeanBecomesARow) {
  const size_t dim = 2;
  const std::vector<float> rows = {1, 0, -1, 0};
  KMeansOptions o = Options(1);
  o.spherical = true;
  std::vector<float> c(dim);
  ASSERT_EQ(KMeans(rows.data(), 2, dim, o, c.data()), Status::kOk);
  EXPECT_TRUE((c[0] == 1.0f || c[0] == -1.0f) && c[1] == 0.0f) << c[0] << " " << c[1];
}

// Lloyd never increases the within-cluster sum of squares: after any number
// of iterations it is at most that of the k-means++ initialisation
// (max_iterations = 0), and more iterations never make it worse.
TEST(KMeans, IterationsDoNotIncreaseTheCost) {
  const size_t n = 3000, dim = 8, k = 20;
  for (bool spherical : {false, true}) {
    std::vector<float> rows = UniformRows(n, dim, 7);
    if (spherical) Normalize(&rows, dim);
    double previous = std::numeric_limits<double>::infinity();
    double initial = 0;
    for (int iters : {0, 1, 2, 3, 5, 10, 20, 50}) {
      KMeansOptions o = Options(k, 2);
      o.spherical = spherical;
      o.max_iterations = iters;
      std::vector<float> c(k * dim);
      ASSERT_EQ(KMeans(rows.data(), n, dim, o, c.data()), Status::kOk);
      const double w = Wcss(rows, dim, c, k);
      if (iters == 0) initial = w;
      EXPECT_LE(w, previous * (1 + 1e-9)) << "iterations " << iters << " spherical " << spherical;
      previous = w;
    }
    // Random data has no obvious clusters: the iterations do real work.
    EXPECT_LT(previous, 0.9 * initial) << spherical;
  }
}

// The pruned assignment steps change nothing: the result is bit for bit that
// of textbook Lloyd (brute-force nearest centroid with the same kernel, means
// summed in double in row order) started from the same initial centroids.
TEST(KMeans, MatchesPlainLloydFromTheSameStart) {
  const size_t dim = 12, k = 15;
  const Blobs b = MakeBlobs(10, 200, dim, 1.0f, 0.4f, 18);
  const size_t n = b.n;
  const kernels::DistanceFn l2 = kernels::Kernels().squared_l2;
  for (bool spherical : {false, true}) {
    std::vector<float> rows = b.rows;
    if (spherical) Normalize(&rows, dim);
    KMeansOptions o = Options(k, 2);
    o.spherical = spherical;
    o.max_iterations = 0;
    std::vector<float> c(k * dim);
    ASSERT_EQ(KMeans(rows.data(), n, dim, o, c.data()), Status::kOk);
    for (int iters = 1; iters <= 12; ++iters) {
      // One textbook iteration on c.
      std::vector<uint32_t> a(n);
      for (size_t i = 0; i < n; ++i) {
        float best = std::numeric_limits<float>::infinity();
        for (size_t j = 0; j < k; ++j) {
          const float d = l2(&rows[i * dim], &c[j * dim], dim);
          if (d < best) {
            best = d;
            a[i] = static_cast<uint32_t>(j);
          }
        }
      }
      std::vector<double> sum(k * dim, 0.0);
      std::vector<size_t> cnt(k, 0);
      for (size_t i = 0; i < n; ++i) {
        ++cnt[a[i]];
        for (size_t d = 0; d < dim; ++d) sum[a[i] * dim + d] += rows[i * dim + d];
      }
      for (size_t j = 0; j < k; ++j) {
        ASSERT_GT(cnt[j], 0u) << "an empty cluster: pick other test data";
        double nn = 0;
        for (size_t d = 0; d < dim; ++d) nn += sum[j * dim + d] * sum[j * dim + d];
        for (size_t d = 0; d < dim; ++d) {
          c[j * dim + d] = static_cast<float>(spherical ? sum[j * dim + d] * (1.0 / std::sqrt(nn))
                                                        : sum[j * dim + d] / cnt[j]);
        }
      }
      o.max_iterations = iters;
      std::vector<float> got(k * dim);
      ASSERT_EQ(KMeans(rows.data(), n, dim, o, got.data()), Status::kOk);
      ASSERT_EQ(std::memcmp(got.data(), c.data(), c.size() * sizeof(float)), 0)
          << "iterations " << iters << " spherical " << spherical;
    }
  }
}

// The initial centroids (max_iterations = 0) are distinct rows.
TEST(KMeans, InitialCentroidsAreDistinctRows) {
  const size_t n = 500, dim = 6, k = 40;
  const std::vector<float> rows = UniformRows(n, dim, 8);
  KMeansOptions o = Options(k);
  o.max_iterations = 0;
  std::vector<float> c(k * dim);
  ASSERT_EQ(KMeans(rows.data(), n, dim, o, c.data()), Status::kOk);
  std::set<size_t> used;
  for (size_t j = 0; j < k; ++j) {
    for (size_t i = 0; i < n; ++i) {
      if (std::memcmp(&c[j * dim], &rows[i * dim], dim * sizeof(float)) == 0) used.insert(i);
    }
  }
  EXPECT_EQ(used.size(), k);
}

// Empty clusters are rare after a k-means++ start; with these 13 points and
// this seed, the first update leaves cluster 3 without a row (seen with
// max_iterations = 1: the next assignment step would find it empty). Later
// updates re-seed it, so after more iterations no cluster is empty.
TEST(KMeans, EmptyClustersAreReseeded) {
  const size_t n = 13, dim = 2, k = 6;
  const std::vector<float> rows = {6,  2, 13, 1,  13, 5, 12, 10, 16, 6, 4,  7,  1,
                                   19, 1, 2,  4,  11, 11, 9, 14, 9,  7, 17, 7,  15};
  auto sizes = [&](int iterations, int threads) {
    KMeansOptions o = Options(k, threads);
    o.seed = 8978;
    o.max_iterations = iterations;
    std::vector<float> c(k * dim);
    EXPECT_EQ(KMeans(rows.data(), n, dim, o, c.data()), Status::kOk);
    std::vector<size_t> size(k, 0);
    for (uint32_t x : Assign(rows, dim, c, k)) ++size[x];
    return size;
  };
  const std::vector<size_t> after_one = sizes(1, 1);
  ASSERT_EQ(std::count(after_one.begin(), after_one.end(), 0u), 1)
      << "the data no longer empties a cluster: the test needs new data";
  for (int threads : {1, 2}) {
    for (int iterations : {2, 20}) {
      const std::vector<size_t> size = sizes(iterations, threads);
      for (size_t j = 0; j < k; ++j) EXPECT_GT(size[j], 0u) << "cluster " << j;
    }
  }
}

// Many clusters for few rows: no cluster ends empty.
TEST(KMeans, ManyClustersNoneEmpty) {
  const size_t n = 600, dim = 2, k = 200;
  const Blobs b = MakeBlobs(3, n / 3, dim, 10.0f, 1.0f, 9);
  KMeansOptions o = Options(k, 2);
  std::vector<float> c(k * dim);
  ASSERT_EQ(KMeans(b.rows.data(), n, dim, o, c.data()), Status::kOk);
  std::vector<size_t> size(k, 0);
  for (uint32_t x : Assign(b.rows, dim, c, k)) ++size[x];
  for (size_t j = 0; j < k; ++j) EXPECT_GT(size[j], 0u) << "cluster " << j;
}

// Fewer distinct rows than clusters: the extra centroids duplicate rows and
// nothing loops or produces NaN.
TEST(KMeans, FewDistinctRows) {
  const size_t n = 300, dim = 3, k = 8;
  std::vector<float> rows(n * dim);
  for (size_t i = 0; i < n; ++i) {
    for (size_t d = 0; d < dim; ++d) rows[i * dim + d] = static_cast<float>((i % 3) * 10 + d);
  }
  for (int threads : {1, 2}) {
    std::vector<float> c(k * dim);
    ASSERT_EQ(KMeans(rows.data(), n, dim, Options(k, threads), c.data()), Status::kOk);
    std::set<std::vector<float>> distinct;
    for (size_t j = 0; j < k; ++j) {
      distinct.insert(std::vector<float>(&c[j * dim], &c[(j + 1) * dim]));
      bool is_row = false;
      for (size_t i = 0; i < 3; ++i) {
        is_row |= std::memcmp(&c[j * dim], &rows[i * dim], dim * sizeof(float)) == 0;
      }
      EXPECT_TRUE(is_row) << j;
    }
    EXPECT_EQ(distinct.size(), 3u);
    EXPECT_EQ(Wcss(rows, dim, c, k), 0.0);
  }
}

// ---------------------------------------------------------------------------
// AssignNearest

TEST(KMeansAssign, AgreesWithBruteForce) {
  // Small integer coordinates: every distance is exact in float, so the SIMD
  // kernels and the scalar double loop see the same values, and there are
  // many exact ties (which must go to the lowest centroid index).
  const size_t n = 2000, dim = 19, stride = 23, k = 50;
  std::mt19937_64 rng(10);
  std::uniform_int_distribution<int> v(-3, 3);
  std::vector<float> rows(n * stride);
  for (float& x : rows) x = static_cast<float>(v(rng));
  std::vector<float> c(k * dim);
  for (float& x : c) x = static_cast<float>(v(rng));
  std::memcpy(&c[31 * dim], &c[7 * dim], dim * sizeof(float));  // duplicate centroids
  std::memcpy(&c[8 * dim], &rows[3 * stride], dim * sizeof(float));
  std::memcpy(&c[40 * dim], &rows[3 * stride], dim * sizeof(float));

  struct Metric {
    kernels::DistanceFn kernel;
    double (*scalar)(const float*, const float*, size_t);
  };
  const Metric metrics[] = {{kernels::Kernels().squared_l2, ref::SquaredL2},
                            {kernels::Kernels().neg_inner_product, NegInnerProduct},
                            {kernels::Kernels().l1, ref::L1}};
  for (const Metric& m : metrics) {
    std::vector<uint32_t> expect(n);
    size_t ties = 0;
    for (size_t i = 0; i < n; ++i) {
      expect[i] = BruteNearest(&rows[i * stride], c.data(), k, dim, m.scalar);
      const double best = m.scalar(&rows[i * stride], &c[expect[i] * dim], dim);
      for (size_t j = expect[i] + 1; j < k; ++j) {
        if (m.scalar(&rows[i * stride], &c[j * dim], dim) == best) {
          ++ties;
          break;
        }
      }
    }
    EXPECT_GT(ties, 50u);  // the tie rule is really exercised
    EXPECT_EQ(expect[3], 8u);
    for (int threads : {1, 3}) {
      std::vector<uint32_t> out(n, UINT32_MAX);
      ASSERT_EQ(AssignNearest(rows.data(), n, stride, dim, c.data(), k, m.kernel, threads,
                              nullptr, nullptr, out.data()),
                Status::kOk);
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], expect[i]) << "row " << i;
    }
  }
}

TEST(KMeansAssign, NoRowsIsFine) {
  const float c[2] = {1, 2};
  EXPECT_EQ(AssignNearest(nullptr, 0, 2, 2, c, 1, kernels::Kernels().squared_l2, 2, nullptr,
                          nullptr, nullptr),
            Status::kOk);
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

TEST(KMeansAssign, WorkersRunWithSignalsBlocked) {
  const size_t n = 20000, dim = 16, k = 64;
  const std::vector<float> rows = UniformRows(n, dim, 11);
  const std::vector<float> c = UniformRows(k, dim, 12);
  g_caller_id = std::this_thread::get_id();
  sigset_t before, after;
  pthread_sigmask(SIG_BLOCK, nullptr, &before);
  std::vector<uint32_t> out(n);
  ASSERT_EQ(AssignNearest(rows.data(), n, dim, dim, c.data(), k, SignalCheckingL2, 2, nullptr,
                          nullptr, out.data()),
            Status::kOk);
  pthread_sigmask(SIG_BLOCK, nullptr, &after);
  EXPECT_GT(g_worker_calls.load(), 0);  // the second thread did work
  EXPECT_EQ(g_unblocked_on_worker.load(), 0);
  for (int sig = 1; sig < 32; ++sig) {
    EXPECT_EQ(sigismember(&before, sig), sigismember(&after, sig)) << sig;
  }
}

// ---------------------------------------------------------------------------
// Arguments

TEST(KMeansArgs, InvalidArgumentsAreRejected) {
  const std::vector<float> rows = UniformRows(10, 4, 13);
  std::vector<float> c(3 * 4);
  const KMeansOptions o = Options(3);
  EXPECT_EQ(KMeans(nullptr, 10, 4, o, c.data()), Status::kInvalidArgument);
  EXPECT_EQ(KMeans(rows.data(), 10, 4, o, nullptr), Status::kInvalidArgument);
  EXPECT_EQ(KMeans(rows.data(), 0, 4, o, c.data()), Status::kInvalidArgument);
  EXPECT_EQ(KMeans(rows.data(), 10, 0, o, c.data()), Status::kInvalidArgument);
  EXPECT_EQ(KMeans(rows.data(), 10, 4, Options(0), c.data()), Status::kInvalidArgument);
  EXPECT_EQ(KMeans(rows.data(), 10, 4, o, c.data()), Status::kOk);  // the control

  const kernels::DistanceFn l2 = kernels::Kernels().squared_l2;
  std::vector<uint32_t> out(10);
  EXPECT_EQ(AssignNearest(nullptr, 10, 4, 4, c.data(), 3, l2, 1, nullptr, nullptr, out.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 4, nullptr, 3, l2, 1, nullptr, nullptr, out.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 4, c.data(), 3, nullptr, 1, nullptr, nullptr,
                          out.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 4, c.data(), 3, l2, 1, nullptr, nullptr, nullptr),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 0, c.data(), 3, l2, 1, nullptr, nullptr,
                          out.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 3, 4, c.data(), 3, l2, 1, nullptr, nullptr,
                          out.data()),
            Status::kInvalidArgument);  // row_stride < dim
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 4, c.data(), 0, l2, 1, nullptr, nullptr,
                          out.data()),
            Status::kInvalidArgument);
  EXPECT_EQ(AssignNearest(rows.data(), 10, 4, 4, c.data(), 3, l2, 1, nullptr, nullptr,
                          out.data()),
            Status::kOk);  // the control
}

// ---------------------------------------------------------------------------
// Cancellation and the poll callback

struct PollLog {
  std::thread::id caller;
  std::atomic<int> calls{0};
  std::atomic<int> wrong_thread{0};
  int cancel_on_call = -1;  // return true from this call on (1-based); -1 never
  size_t cancel_on_done = SIZE_MAX;  // or from the first call reporting this much done
  size_t last_done = 0;
  Clock::time_point cancelled_at;
};

bool LoggingPoll(void* ctx, size_t done) {
  PollLog* log = static_cast<PollLog*>(ctx);
  if (std::this_thread::get_id() != log->caller) log->wrong_thread++;
  const int call = ++log->calls;
  log->last_done = done;
  if ((log->cancel_on_call > 0 && call >= log->cancel_on_call) || done >= log->cancel_on_done) {
    if (log->cancel_on_call <= 0 || call < log->cancel_on_call) log->cancel_on_call = call;
    if (call == log->cancel_on_call) log->cancelled_at = Clock::now();
    return true;
  }
  return false;
}

TEST(KMeansCancel, PollSeesProgressAndTheEnd) {
  const size_t n = 5000, dim = 16, k = 30;
  const std::vector<float> rows = UniformRows(n, dim, 14);
  PollLog log;
  log.caller = std::this_thread::get_id();
  KMeansOptions o = Options(k, 2);
  o.max_iterations = 7;
  o.poll = LoggingPoll;
  o.poll_ctx = &log;
  std::vector<float> c(k * dim);
  ASSERT_EQ(KMeans(rows.data(), n, dim, o, c.data()), Status::kOk);
  EXPECT_GE(log.calls.load(), 2);  // at least the start and the end
  EXPECT_EQ(log.wrong_thread.load(), 0);
  EXPECT_GE(log.last_done, 1u);  // iterations done
  EXPECT_LE(log.last_done, 7u);

  PollLog alog;
  alog.caller = std::this_thread::get_id();
  std::vector<uint32_t> out(n);
  ASSERT_EQ(AssignNearest(rows.data(), n, dim, dim, c.data(), k, kernels::Kernels().squared_l2,
                          2, LoggingPoll, &alog, out.data()),
            Status::kOk);
  EXPECT_GE(alog.calls.load(), 2);
  EXPECT_EQ(alog.wrong_thread.load(), 0);
  EXPECT_EQ(alog.last_done, n);  // the last call reports every row
}

TEST(KMeansCancel, CancelAtFirstPoll) {
  const size_t n = 500, dim = 8, k = 5;
  const std::vector<float> rows = UniformRows(n, dim, 15);
  std::vector<float> c(k * dim);
  for (bool more_clusters_than_rows : {false, true}) {
    PollLog log;
    log.caller = std::this_thread::get_id();
    log.cancel_on_call = 1;
    KMeansOptions o = Options(more_clusters_than_rows ? n + 1 : k, 2);
    o.poll = LoggingPoll;
    o.poll_ctx = &log;
    std::vector<float> cc(o.k * dim);
    EXPECT_EQ(KMeans(rows.data(), n, dim, o, cc.data()), Status::kCancelled);
    EXPECT_EQ(log.calls.load(), 1);
  }
  PollLog alog;
  alog.caller = std::this_thread::get_id();
  alog.cancel_on_call = 1;
  std::vector<uint32_t> out(n);
  EXPECT_EQ(AssignNearest(rows.data(), n, dim, dim, rows.data(), k,
                          kernels::Kernels().squared_l2, 2, LoggingPoll, &alog, out.data()),
            Status::kCancelled);
  EXPECT_EQ(alog.calls.load(), 1);
}

// A stop asked in the middle of a long run ends it promptly, through any
// phase (in the initialisation, in the first and in a later iteration), and
// poll is not called again.
TEST(KMeansCancel, StopsPromptly) {
  const size_t n = 30000, dim = 256, k = 300;  // ~2.3 G multiply-adds per assignment step
  const std::vector<float> rows = UniformRows(n, dim, 16);
  struct When {
    int call;
    size_t done;
  };
  for (When when : {When{2, SIZE_MAX}, When{5, SIZE_MAX}, When{-1, 1}, When{-1, 3}}) {
    for (int threads : {1, 2}) {
      PollLog log;
      log.caller = std::this_thread::get_id();
      log.cancel_on_call = when.call;
      log.cancel_on_done = when.done;
      KMeansOptions o = Options(k, threads);
      o.poll = LoggingPoll;
      o.poll_ctx = &log;
      std::vector<float> c(k * dim);
      const auto t0 = Clock::now();
      const Status st = KMeans(rows.data(), n, dim, o, c.data());
      const auto t1 = Clock::now();
      std::printf("[ cancel   ] KMeans threads=%d stop at poll %d: %.3fs after start, %.4fs "
                  "after the stop, %zu iterations done\n",
                  threads, log.cancel_on_call, Seconds(t0, t1), Seconds(log.cancelled_at, t1),
                  log.last_done);
      EXPECT_EQ(st, Status::kCancelled);
      EXPECT_EQ(log.calls.load(), log.cancel_on_call);  // not called again once it said stop
      EXPECT_EQ(log.wrong_thread.load(), 0);
      if (when.done != SIZE_MAX) {
        EXPECT_EQ(log.last_done, when.done);
      }
      EXPECT_LT(Seconds(log.cancelled_at, t1), 1.0) << "slow to stop";
    }
  }
  std::vector<float> c = UniformRows(k, dim, 17);
  std::vector<uint32_t> out(n);
  for (int threads : {1, 2}) {
    PollLog log;
    log.caller = std::this_thread::get_id();
    log.cancel_on_call = 3;
    const auto t0 = Clock::now();
    const Status st = AssignNearest(rows.data(), n, dim, dim, c.data(), k,
                                    kernels::Kernels().squared_l2, threads, LoggingPoll, &log,
                                    out.data());
    const auto t1 = Clock::now();
    std::printf("[ cancel   ] AssignNearest threads=%d: %.3fs after start, %.4fs after the "
                "stop, %zu rows done\n",
                threads, Seconds(t0, t1), Seconds(log.cancelled_at, t1), log.last_done);
    EXPECT_EQ(st, Status::kCancelled);
    EXPECT_EQ(log.calls.load(), 3);
    EXPECT_EQ(log.wrong_thread.load(), 0);
    EXPECT_LT(log.last_done, n);
    EXPECT_LT(Seconds(log.cancelled_at, t1), 1.0) << "slow to stop";
  }
}

}  // namespace
}  // namespace vecann::core
