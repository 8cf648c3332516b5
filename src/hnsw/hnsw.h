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
extern int build_threads;    // vecann.build_threads (-1: from max_parallel_maintenance_workers)
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
struct IndexFacts {
  int code_words;  // 4-byte words of a stored code (the node tuple's vector)
  KeyType key_type;
  int key_dims;  // dimensions of the key (bits for bit)
  int query_words;  // 4-byte words of a prepared key (PrepareKey): key_dims
                    // float32 values for vector/halfvec/sparsevec, packed bits for bit
  kernels::CodeFormat storage;  // how vectors are stored (float32 or reduced)
  Metric metric;
  int m;
  int ef_construction;
  int max_level;          // highest level a node may have (page-size bound)
  ItemPointerData entry;  // entry point, invalid when empty
  int entry_level;
  // Internal distance, smaller is closer: distance(prepared key, stored code,
  // query_words). For float32 storage a code is a prepared key itself.
  kernels::DistanceFn distance;
  kernels::DecodeFn decode;  // code -> prepared key form; nullptr for float32
};

// A stored code as a prepared key (a query): the code itself for float32
// storage, else its reconstruction decoded into buf (query_words floats).
inline const float* CodeAsQuery(const IndexFacts& f, const float* code, float* buf) {
  if (f.decode == nullptr) return code;
  f.decode(code, buf, static_cast<size_t>(f.query_words));
  return buf;
}

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

// ---- keys (keys.cpp): the indexable types and how they are stored ----------------
// What an index's key column is, from its operator class: the key type (by
// the type's input function), the metric (by the distance support
// function's address, and support function 2 for cosine) and the column's
// typmod (a domain's when the column has none). Errors for a column whose
// type is not exactly the operator class's (bit varying under bit_*_ops) and
// for support functions that are not vecann's. Cached in rd_amcache.
struct IndexColumn {
  KeyType key_type;
  Metric metric;
  int typmod;
};
const IndexColumn& ColumnOfIndex(Relation index);
const char* KeyTypeName(KeyType type);
int WordsFor(KeyType type, int key_dims);
// The internal distance between a prepared key and a code of `storage`.
kernels::DistanceFn DistanceFor(Metric metric, kernels::CodeFormat storage);
// 4-byte words of a stored code, and the largest key_dims whose level-0 node
// fits a page at this m (0 when the storage does not apply to the key type).
int CodeWords(KeyType type, kernels::CodeFormat storage, int key_dims);
int MaxKeyDims(KeyType type, kernels::CodeFormat storage, int m);
// The stored code of a prepared key (facts.code_words words).
void EncodeKey(const IndexFacts& facts, const float* prepared, float* code);
// Fills query_words, distance and decode from key_type, key_dims, storage
// and metric.
void SetKernels(IndexFacts* facts);

enum class KeyStatus { kOk, kNotIndexable, kWrongDims };
// Writes the prepared form of `key` to out (facts.query_words words; the
// index stores EncodeKey of it and compares queries in this form):
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
// Inserts one prepared key (PrepareKey) as a new node (WAL-logged).
void InsertNode(Relation index, const IndexFacts& facts, const float* vector, ItemPointer heap_tid);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_HNSW_H_
