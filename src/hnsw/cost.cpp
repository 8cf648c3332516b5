// amcostestimate: what an HNSW scan costs, so the planner picks the index for
// ORDER BY <distance> LIMIT k on tables of a few thousand rows or more, and a
// sequential scan for tiny tables or when there is no ORDER BY to serve.
//
// A scan reads about ef_search * m nodes on the bottom level (plus a few per
// upper level) before it returns its first row, whatever k is, so nearly all
// of its cost is start-up cost; each node visited costs one index tuple
// (cpu_index_tuple_cost), one distance (cpu_operator_cost scaled by the
// vector's length) and its share of page reads, which genericcostestimate
// derives from the index's size and effective_cache_size.
#include <algorithm>
#include <cmath>

#include "hnsw/hnsw.h"

extern "C" {
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
}

namespace vecann::hnsw {

void CostEstimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost, Cost* total_cost,
                  Selectivity* selectivity, double* correlation, double* pages) {
  GenericCosts costs;
  memset(&costs, 0, sizeof(costs));
  IndexOptInfo* index = path->indexinfo;

  if (path->indexorderbys == NIL) {
    // Without an ORDER BY distance the index is of no use (and cannot be
    // scanned): cost it above any plan, disabled ones included.
    *startup_cost = *total_cost = 1.0e30;
    *selectivity = 0;
    *correlation = 0;
    *pages = 0;
    return;
  }

  double tuples = index->tuples > 1 ? index->tuples : 1;
  int m = kOptionDefaultM;
  Relation rel = index_open(index->indexoid, NoLock);
  auto* opts = reinterpret_cast<Options*>(rel->rd_options);
  if (opts) m = opts->m;
  int dims = TupleDescAttr(RelationGetDescr(rel), 0)->atttypmod;
  index_close(rel, NoLock);
  if (dims < 1) dims = 128;

  // Nodes read before the first row: the bottom-level search plus the descent.
  double levels = std::log(tuples) / std::log(static_cast<double>(m));
  double visited = static_cast<double>(EfSearch()) * m * 0.5 + (levels > 0 ? levels : 0) * m;
  if (visited > tuples) visited = tuples;

  costs.numIndexTuples = visited;
  genericcostestimate(root, path, loop_count, &costs);

  // Distances on long vectors cost more than the one operator the generic
  // estimate charges per tuple.
  double distance_cost = cpu_operator_cost * (1.0 + dims / 64.0);
  double startup = costs.indexTotalCost + visited * distance_cost;

  *startup_cost = startup;
  // Each row past the first batch comes from continuing the search, which
  // expands about one node (2m neighbours read) per row returned, until the
  // search has visited vecann.max_scan_tuples nodes (about m/2 per row).
  // Rows beyond those come from the sweep (scan.cpp), which reads the whole
  // index again for each work_mem of rows. The planner takes a LIMIT's share
  // of the run cost, linearly, so the run cost per row is set high enough
  // that a query needing more rows than the search delivers (a LIMIT above
  // that, or a WHERE that keeps few rows: LIMIT / selectivity rows) costs at
  // least a sweep, and gets a sequential scan and sort where that is cheaper.
  // This also makes an ORDER BY of the whole table a sequential scan and sort,
  // as it should be (the index holds no NULL vectors, a full ordering must
  // return them too).
  double per_row_search = 2.0 * m * (cpu_index_tuple_cost + distance_cost);
  double sweep = static_cast<double>(index->pages) * seq_page_cost + tuples * (cpu_index_tuple_cost + distance_cost);
  double rows_from_search = std::max(1.0, std::min(tuples, MaxScanTuples() / (m / 2.0)));
  *total_cost = startup + tuples * std::max(per_row_search, sweep / rows_from_search);
  *selectivity = 1.0;
  *correlation = 0;
  *pages = costs.numIndexPages;
}

}  // namespace vecann::hnsw
