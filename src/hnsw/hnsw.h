// Declarations shared by the files of the HNSW index access method: settings,
// index options, the index-wide facts read from the metapage, and the
// entry points each file provides to the handler (handler.cpp).
#ifndef VECANN_HNSW_HNSW_H_
#define VECANN_HNSW_HNSW_H_

#include "hnsw/layout.h"
#include "kernels/distance.h"
#include "kernels/quantize.h"
#include "type/vector.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"
}

namespace vecann::hnsw {

// ---- settings (GUCs, defined in settings.cpp) ---------------------------------
int EfSearch();              // vecann.ef_search / hnsw.ef_search, the one set last
int MaxScanTuples();         // vecann.max_scan_tuples / hnsw.max_scan_tuples, the one set last
double ScanMemMultiplier();  // hnsw.scan_mem_multiplier
bool RelaxedOrder();         // hnsw.iterative_scan = relaxed_order
extern int rerank_candidates;  // vecann.rerank_candidates
void DefineSettings();

// ---- index options (WITH (m = 16, ef_construction = 64)) -----------------------
// (The option's range is pgvector's; the core accepts a wider one, core::kMaxM.)
constexpr int kOptionDefaultM = 16, kOptionMinM = 2, kOptionMaxM = 100;
constexpr int kDefaultEfConstruction = 64, kMinEfConstruction = 4, kMaxEfConstruction = 1000;

// The stored form of new indexes without a quantization option.
constexpr kernels::CodeFormat kDefaultQuantization = kernels::CodeFormat::kF32;

struct Options {
  int32 vl_len_;  // varlena header
  int m;
  int ef_construction;
  int quantization;  // offset of the option's string in this struct, 0 if none
};
void RegisterOptions();
bytea* ParseOptions(Datum reloptions, bool validate);
// m and ef_construction of an index, checked against each other.
void GetBuildParams(Relation index, int* m, int* ef_construction);
// The stored form the index's quantization option asks for.
kernels::CodeFormat GetQuantization(Relation index);

// ---- index-wide facts ---------------------------------------------------------
// The key facts (am/keys.h), then the graph's.
struct IndexFacts : am::KeyFacts {
  int m;
  int ef_construction;
  int max_level;          // highest level a node may have (page-size bound)
  ItemPointerData entry;  // entry point, invalid when empty
  int entry_level;
};

// Distance between two stored codes named by ids (the first taken as the
// query), for the neighbour heuristic; code_of(id) gives an id's code. The
// heuristic asks for many pairs with the same first id in a row, so its
// decoded form is kept. Allocates its buffer in the current memory context.
template <typename CodeOf>
struct CodePairDistance {
  const IndexFacts* f;
  CodeOf code_of;
  float* buf;
  uint32 decoded;
  CodePairDistance(const IndexFacts* facts, CodeOf c)
      : f(facts),
        code_of(c),
        buf(facts->decode ? static_cast<float*>(palloc(sizeof(float) * facts->query_words)) : nullptr),
        decoded(UINT32_MAX) {}
  float operator()(uint32 a, uint32 b) {
    const float* qa = code_of(a);
    if (f->decode != nullptr) {
      if (decoded != a) f->decode(qa, buf, static_cast<size_t>(f->query_words));
      decoded = a;
      qa = buf;
    }
    return f->distance(qa, code_of(b), static_cast<size_t>(f->query_words));
  }
};

// Reads the metapage (share lock, copied out) and checks every field against
// the others and against the index's column (ColumnOfIndex); errors with
// ERRCODE_INDEX_CORRUPTED on anything an index of this vecann cannot have.
void ReadFacts(Relation index, IndexFacts* facts);

// ---- keys (am/keys.h) -----------------------------------------------------------
using am::CodeAsQuery;
using am::CodeWords;
using am::ColumnOfIndex;
using am::EncodeKey;
using am::IndexColumn;
using am::KeyStatus;
using am::KeyTypeName;
using am::OperatorDistance;
using am::PrepareKey;
using am::PrepareQuery;
using am::PrepareRowKey;
using am::SetKernels;
// The largest key_dims whose level-0 node fits a page at this m (0 when the
// storage does not apply to the key type).
int MaxKeyDims(KeyType type, kernels::CodeFormat storage, int m);

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

// ---- shared by build (slow path) and aminsert ----------------------------------
// Inserts one prepared key (PrepareKey) as a new node (WAL-logged).
void InsertNode(Relation index, const IndexFacts& facts, const float* vector, ItemPointer heap_tid);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_HNSW_H_
