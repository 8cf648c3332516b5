// The index's run-time settings (GUCs), all under the reserved `vecann.` prefix.
#include "hnsw/hnsw.h"

extern "C" {
#include "utils/guc.h"
}

namespace vecann::hnsw {

int ef_search = 40;
int max_scan_tuples = 20000;
int build_threads = -1;
int rerank_candidates = 100;

void DefineSettings() {
  DefineCustomIntVariable("vecann.ef_search", "Size of the candidate list of an HNSW index scan.",
                          "Larger values find the true nearest neighbours more often (recall) "
                          "at the cost of speed.",
                          &ef_search, 40, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("vecann.max_scan_tuples",
                          "Most index nodes one HNSW scan visits when a query needs more rows than "
                          "vecann.ef_search gives (a large LIMIT or a selective WHERE).",
                          nullptr, &max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr, nullptr,
                          nullptr);
  // Threads are a server resource: only a superuser (or postgresql.conf)
  // sets their number; the default follows settings every role may raise,
  // so Build() caps it by max_worker_processes, which only the server's
  // configuration sets.
  DefineCustomIntVariable("vecann.build_threads", "Threads that build an HNSW graph in memory.",
                          "-1 uses max_parallel_maintenance_workers + 1, at most max_worker_processes + 1.",
                          &build_threads, -1, -1, 64, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("vecann.rerank_candidates",
                          "Candidates an HNSW scan of a quantization = 'bit' index orders by their true "
                          "distance, per batch.",
                          "Each batch of such a scan takes max(vecann.ef_search, this) candidates from the "
                          "graph and reads their full-precision vectors from the table.",
                          &rerank_candidates, 100, 1, 10000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

}  // namespace vecann::hnsw
