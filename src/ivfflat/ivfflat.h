// Declarations shared by the files of the ivfflat index access method:
// settings, index options, the index-wide facts read from the metapage, the
// checked page readers and the entry points each file gives the handler.
#ifndef VECANN_IVFFLAT_IVFFLAT_H_
#define VECANN_IVFFLAT_IVFFLAT_H_

#include "am/corrupted.h"
#include "am/keys.h"
#include "ivfflat/layout.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "storage/buf.h"
#include "utils/rel.h"
}

namespace vecann::ivfflat {

using am::ReportCorrupted;

// ---- settings (settings.cpp) --------------------------------------------------
int Probes();          // ivfflat.probes
int MaxProbes();       // ivfflat.max_probes
bool RelaxedOrder();   // ivfflat.iterative_scan = relaxed_order
void DefineSettings();

// ---- index options (WITH (lists = 100, quantization = 'f32')) ------------------
constexpr int kDefaultLists = 100, kMinLists = 1, kMaxLists = 32768;  // pgvector's
struct Options {
  int32 vl_len_;
  int lists;
  int quantization;  // offset of the option's string, 0 if none
};
void RegisterOptions();
bytea* ParseOptions(Datum reloptions, bool validate);
int GetLists(Relation index);
kernels::CodeFormat GetQuantization(Relation index);

// ---- index-wide facts (facts.cpp) ---------------------------------------------
struct IndexFacts : am::KeyFacts {
  int lists;
  int per_page;  // centroid tuples per centroid page
  BlockNumber centroid_pages;
  // Internal distance from a prepared key to a centroid (centroids are
  // prepared keys themselves, whatever the rows' storage).
  kernels::DistanceFn centroid_distance;
};

// The facts of a new index of `lists` lists, from its column and options;
// errors for what ivfflat cannot index.
IndexFacts NewFacts(Relation index, int lists);
// Reads the metapage (share lock, copied out) and checks every field;
// ERRCODE_INDEX_CORRUPTED on anything an index of this vecann cannot have.
void ReadFacts(Relation index, IndexFacts* facts);
void WriteMeta(Page page, const IndexFacts& facts);

// Where list j's centroid tuple is.
inline BlockNumber CentroidBlock(const IndexFacts& f, int list) { return kFirstCentroidBlock + list / f.per_page; }
inline OffsetNumber CentroidOffset(const IndexFacts& f, int list) {
  return static_cast<OffsetNumber>(FirstOffsetNumber + list % f.per_page);
}

// The checks below take the index's size as last read (*nblocks) and read it
// again when a block lies beyond it (indexes only grow: a concurrent insert
// may just have added the block).
// The centroid tuple of list j on its pinned and locked centroid page,
// checked (page type, item size, its blocks inside the index).
CentroidTuple* CentroidAt(Relation index, const IndexFacts& f, Page page, BlockNumber block, int list,
                          BlockNumber* nblocks);
// Errors unless a pinned and locked list page is a list page whose next
// link lies inside the index; returns its row count.
int CheckListPage(Relation index, const IndexFacts& f, Page page, BlockNumber block, BlockNumber* nblocks);
// The row at `off` of a checked list page.
const ListTuple* RowAt(Relation index, const IndexFacts& f, Page page, BlockNumber block, OffsetNumber off);
// Errors unless a list block may be read (past the centroid pages, inside
// the index).
void CheckListBlock(Relation index, const IndexFacts& f, BlockNumber block, BlockNumber* nblocks);

// The internal distance from a prepared key to each list's centroid, in
// list order (f.lists floats into out); reads every centroid page once.
void CentroidDistances(Relation index, const IndexFacts& f, const float* prepared, float* out);

// ---- access method entry points -----------------------------------------------
IndexBuildResult* Build(Relation heap, Relation index, IndexInfo* info);
void BuildEmpty(Relation index);
bool Insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
            IndexUniqueCheck check, bool index_unchanged, IndexInfo* info);
IndexScanDesc BeginScan(Relation index, int nkeys, int norderbys);
void Rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool GetTuple(IndexScanDesc scan, ScanDirection dir);
void EndScan(IndexScanDesc scan);
IndexBulkDeleteResult* BulkDelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                  IndexBulkDeleteCallback callback, void* callback_state);
IndexBulkDeleteResult* VacuumCleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
void CostEstimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost,
                  Cost* total_cost, Selectivity* selectivity, double* correlation, double* pages);

}  // namespace vecann::ivfflat

#endif  // VECANN_IVFFLAT_IVFFLAT_H_
