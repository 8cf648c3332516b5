// Multi-threaded in-memory HNSW build over a contiguous row array.
// No Postgres here: the glue copies the heap's vectors into one array, calls
// BuildGraph with a poll callback that checks InterruptPending, then writes
// the graph (hnsw_graph.h) into index pages.
#ifndef VECANN_CORE_HNSW_BUILD_H_
#define VECANN_CORE_HNSW_BUILD_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/hnsw_graph.h"
#include "core/hnsw_types.h"
#include "kernels/distance.h"
#include "kernels/quantize.h"  // DecodeFn

namespace vecann::core {

struct BuildOptions {
  HnswParams params;
  // Threads inserting nodes, the calling thread included (1 = no extra
  // thread). Extra threads start with all signals blocked and never call back
  // into the caller. Values < 1 mean 1; capped at 256 and at n.
  int threads = 1;
  // Seed of the level draw. With threads == 1 the graph is a deterministic
  // function of (vectors, params, seed); with more threads the levels still
  // are, the links depend on scheduling.
  uint64_t seed = 0x5eed5eed5eedULL;
  // Called ONLY on the calling thread: at the start, at least every ~10 ms of
  // work and at the end, with the number of nodes inserted so far. Returning
  // true stops the build promptly (threads abandon their current node) and
  // BuildGraph returns kCancelled. May be null. It must return normally: no
  // longjmp (ereport) and no exception through the core's frames -- the glue
  // records the interrupt, returns true, and raises it after BuildGraph.
  bool (*poll)(void* ctx, size_t nodes_done) = nullptr;
  void* poll_ctx = nullptr;
};

// How the rows of the array a graph is built over are stored: each row is
// `row_words` 4-byte words, compared with a float32 query of `dim` values by
// dist(query, row, dim). With decode == nullptr the rows ARE dim float32
// values (row_words >= dim) and a row serves as a query as it is; otherwise
// decode(row, out, dim) gives the float32 query form of a row (e.g. a
// quantized code, kernels/quantize.h). The graph then holds only the codes.
struct RowFormat {
  size_t row_words;
  size_t dim;
  kernels::DistanceFn dist;
  kernels::DecodeFn decode;
};

// Builds an HNSW graph over rows[0 .. n*format.row_words) (row i = node i,
// i < 2^32-1) with the distance format.dist ("smaller is closer"; e.g.
// squared L2, or negative inner product). Node 0 is the first entry point.
// The rows must stay unchanged and alive during the call (the graph does not
// keep the pointer).
// On success *out holds the graph (n == 0 gives an empty graph); on any other
// status *out is empty. Never throws.
//   kInvalidArgument: out/dist null, rows null with n > 0, dim == 0,
//                     m outside [kMinM, kMaxM], ef_construction < 1, n too big.
//   kOutOfMemory:     an allocation failed.
//   kCancelled:       poll returned true.
Status BuildGraph(const float* rows, size_t n, const RowFormat& format, const BuildOptions& opts,
                  HnswGraph* out);

}  // namespace vecann::core

#endif  // VECANN_CORE_HNSW_BUILD_H_
