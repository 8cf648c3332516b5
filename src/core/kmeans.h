// Multi-threaded k-means over a contiguous float32 row array, for the ivfflat
// index: the glue samples rows from the heap, calls KMeans for the list
// centroids, then AssignNearest to put every row in its list. No Postgres
// here; threads and the poll callback follow BuildGraph (hnsw_build.h).
#ifndef VECANN_CORE_KMEANS_H_
#define VECANN_CORE_KMEANS_H_

#include <cstddef>
#include <cstdint>

#include "core/hnsw_types.h"  // Status
#include "kernels/distance.h"

namespace vecann::core {

struct KMeansOptions {
  // Number of clusters (>= 1, < 2^32).
  size_t k = 1;
  // Lloyd iterations after the initialisation; one iteration moves every
  // centroid to the mean of the rows nearest to it. Fewer are run when an
  // assignment step changes nothing. 0 returns the initial centroids. < 0 means 0.
  int max_iterations = 20;
  // Threads, the calling thread included (1 = no extra thread). Extra threads
  // start with all signals blocked and never call back into the caller.
  // Values < 1 mean 1; capped at 256. The result does not depend on it.
  int threads = 1;
  // Scale each centroid to unit length after every update (cosine distance
  // over unit-length rows). A cluster whose mean is zero gets a copy of its
  // first row instead.
  bool spherical = false;
  // Seed of the initialisation. The centroids are a deterministic function of
  // (rows, n, dim, k, max_iterations, spherical, seed) and of the CPU's SIMD
  // target, whatever the thread count.
  uint64_t seed = 0x6b6d65616e73ULL;
  // Called ONLY on the calling thread: at the start, at least every ~10 ms of
  // work and at the end, with the number of Lloyd iterations done (0 during
  // the initialisation). Returning true stops promptly; KMeans then returns
  // kCancelled and poll is not called again. May be null. It must return
  // normally (no longjmp, no exception), as BuildOptions::poll.
  bool (*poll)(void* ctx, size_t done) = nullptr;
  void* poll_ctx = nullptr;
};

// Clusters rows[0 .. n*dim) (row i = dim float32 values) into options.k
// centroids written to centroids[0 .. k*dim), by squared L2 distance.
// Initialisation: k-means++ (see kmeans.cpp for why the full version). With
// k >= n the centroids are copies of the rows (centroid j = row j mod n), so
// some clusters are empty. Empty clusters met during the iterations are
// re-seeded with the member of the largest cluster farthest from its centroid.
// For spherical, the rows are expected to be unit vectors; the centroids are
// renormalised after each update (the initial ones are rows, left as they are).
// On a status other than kOk the contents of centroids are unspecified.
// Never throws.
//   kInvalidArgument: rows or centroids null, n == 0, dim == 0, k == 0,
//                     n or k >= 2^32.
//   kOutOfMemory:     an allocation failed (or a size would overflow).
//   kCancelled:       poll returned true.
Status KMeans(const float* rows, size_t n, size_t dim, const KMeansOptions& options,
              float* centroids);

// For each of the n rows (row i starts at rows + i*row_stride, row_stride >=
// dim words), the index of the centroid (centroids[j*dim .. (j+1)*dim)) with
// the smallest dist(row, centroid, dim) -- ties: the lowest index -- written to
// out[i]. threads and poll as in KMeansOptions; poll's count is the number of
// rows done. n == 0 is fine (nothing to do). Never throws.
//   kInvalidArgument: centroids or dist null, rows or out null with n > 0,
//                     dim == 0, row_stride < dim, k == 0, k >= 2^32.
//   kOutOfMemory, kCancelled as in KMeans (on either, out is unspecified).
Status AssignNearest(const float* rows, size_t n, size_t row_stride, size_t dim,
                     const float* centroids, size_t k, kernels::DistanceFn dist, int threads,
                     bool (*poll)(void*, size_t), void* poll_ctx, uint32_t* out);

}  // namespace vecann::core

#endif  // VECANN_CORE_KMEANS_H_
