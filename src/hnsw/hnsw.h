// Declarations shared by the files of the HNSW index access method: settings,
// index options, the index-wide facts read from the metapage, and the
// entry points each file provides to the handler (handler.cpp).
#ifndef VECANN_HNSW_HNSW_H_
#define VECANN_HNSW_HNSW_H_

#include "hnsw/layout.h"
#include "kernels/distance.h"
#include "type/vector.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"
}

namespace vecann::hnsw {

// ---- settings (GUCs, defined in settings.cpp) ---------------------------------
extern int ef_search;        // vecann.ef_search
extern int max_scan_tuples;  // vecann.max_scan_tuples
extern int build_threads;    // vecann.build_threads (-1: from max_parallel_maintenance_workers)
void DefineSettings();

// ---- index options (WITH (m = 16, ef_construction = 64)) -----------------------
constexpr int kDefaultM = 16, kMinM = 2, kMaxM = 100;
constexpr int kDefaultEfConstruction = 64, kMinEfConstruction = 4, kMaxEfConstruction = 1000;

struct Options {
  int32 vl_len_;  // varlena header
  int m;
  int ef_construction;
};
void RegisterOptions();
bytea* ParseOptions(Datum reloptions, bool validate);
// m and ef_construction of an index, checked against each other.
void GetBuildParams(Relation index, int* m, int* ef_construction);

// ---- index-wide facts ---------------------------------------------------------
struct IndexFacts {
  int dims;  // 4-byte words per stored vector (= dimensions for float keys)
  KeyType key_type;
  int key_dims;  // dimensions of the key (bits for bit)
  Metric metric;
  int m;
  int ef_construction;
  int max_level;          // highest level a node may have (page-size bound)
  ItemPointerData entry;  // entry point, invalid when empty
  int entry_level;
  kernels::DistanceFn distance;  // internal distance, smaller is closer
};

// Reads the metapage (share lock, copied out); errors on a foreign or newer format.
void ReadFacts(Relation index, IndexFacts* facts);

// The metric an index's operator class asks for (from its support functions).
Metric MetricOfOpclass(Relation index);

// ---- keys (keys.cpp): the indexable types and how they are stored ----------------
KeyType KeyTypeOfIndex(Relation index);
const char* KeyTypeName(KeyType type);
int WordsFor(KeyType type, int key_dims);
int KeyDimsForWords(KeyType type, int words);
// The metric a distance support function's C symbol stands for.
Metric MetricOfSymbol(const char* symbol, bool normalize);
kernels::DistanceFn DistanceFor(Metric metric);

enum class KeyStatus { kOk, kNotIndexable, kWrongDims };
// Writes the words the index stores for `key` to out (facts.dims words):
// kNotIndexable for a zero vector under cosine, kWrongDims (with *key_dims
// set) when the key has other dimensions than the index.
KeyStatus PrepareKey(const IndexFacts& facts, Datum key, float* out, int* key_dims);

// The value the SQL operator would return for an internal distance.
double OperatorDistance(Metric metric, float internal);

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
bool Validate(Oid opclass_oid);

// ---- shared by build (slow path) and aminsert ----------------------------------
// Inserts one prepared vector as a new node (WAL-logged).
void InsertNode(Relation index, const IndexFacts& facts, const float* vector, ItemPointer heap_tid);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_HNSW_H_
