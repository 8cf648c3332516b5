// amcostestimate: what an ivfflat scan costs, so the planner picks the index
// for ORDER BY <distance> LIMIT k and a sequential scan where that is cheaper.
//
// Before its first row a scan computes the distance to every centroid and
// reads and sorts the rows of ivfflat.probes lists (about probes / lists of
// the index): nearly all of its cost is start-up cost. Rows beyond those come
// from reading more lists, at about the same cost per row; a query that needs
// them all (an ORDER BY of the whole table) then costs a full read of the
// index plus the distances, and gets a sequential scan and sort, as it should
// (the index holds no NULL vectors, a full ordering must return them too).
#include <algorithm>
#include <cmath>

#include "ivfflat/ivfflat.h"

extern "C" {
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "utils/selfuncs.h"
}

namespace vecann::ivfflat {

void CostEstimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost, Cost* total_cost,
                  Selectivity* selectivity, double* correlation, double* pages) {
  IndexOptInfo* index = path->indexinfo;
  if (path->indexorderbys == NIL) {
    // Without an ORDER BY distance the index cannot be scanned: cost it
    // above any plan, disabled ones included.
    *startup_cost = *total_cost = 1.0e30;
    *selectivity = 0;
    *correlation = 0;
    *pages = 0;
    return;
  }
  Relation rel = index_open(index->indexoid, NoLock);
  // The lists the index has (an unlogged index reset by a crash has one;
  // ALTER INDEX SET (lists) changes only the next build), else the option.
  int lists = GetLists(rel);
  if (RelationGetNumberOfBlocks(rel) > 0) {
    IndexFacts facts;
    ReadFacts(rel, &facts);
    lists = facts.lists;
  }
  int dims = TupleDescAttr(RelationGetDescr(rel), 0)->atttypmod;
  index_close(rel, NoLock);
  if (dims < 1) dims = 128;
  double tuples = index->tuples > 1 ? index->tuples : 1;
  double ratio = std::min(1.0, static_cast<double>(std::min(Probes(), lists)) / lists);

  GenericCosts costs;
  memset(&costs, 0, sizeof(costs));
  costs.numIndexTuples = std::max(1.0, tuples * ratio);
  genericcostestimate(root, path, loop_count, &costs);

  double distance_cost = cpu_operator_cost * (1.0 + dims / 64.0);
  double first_rows = costs.numIndexTuples;
  double sort_cost = first_rows * std::log2(first_rows + 2) * cpu_operator_cost;
  double startup = costs.indexTotalCost + lists * distance_cost + first_rows * distance_cost + sort_cost;
  *startup_cost = startup;
  // The rest of the index, list by list, for the rows past the first lists.
  double rest_pages = std::max(0.0, static_cast<double>(index->pages) * (1 - ratio));
  double rest = rest_pages * random_page_cost +
                (tuples - first_rows) * (cpu_index_tuple_cost + distance_cost + std::log2(first_rows + 2) * cpu_operator_cost);
  *total_cost = startup + std::max(0.0, rest) + tuples * cpu_index_tuple_cost;
  *selectivity = 1.0;
  *correlation = 0;
  *pages = costs.numIndexPages;
}

}  // namespace vecann::ivfflat
