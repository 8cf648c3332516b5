// Index keys, shared by vecann's access methods (hnsw and ivfflat): which SQL
// types and metrics an index column has, read from its operator class, and
// how a key becomes the 4-byte words an index stores and compares
// (keys.cpp has the forms).
#ifndef VECANN_AM_KEYS_H_
#define VECANN_AM_KEYS_H_

#include "pg/pg_headers.h"
#include "kernels/distance.h"
#include "kernels/quantize.h"

extern "C" {
#include "utils/rel.h"
}

namespace vecann::am {

// How an index compares vectors (fixed at build from the opclass; the values
// are stored in metapages).
enum class Metric : uint8 {
  kL2 = 1,            // squared L2 inside; <-> reports its square root
  kInnerProduct = 2,  // negative inner product (<#>)
  kCosine = 3,        // vectors normalized on the way in; 1 - dot
  kL1 = 4,            // taxicab distance (<+>)
  kHamming = 5,       // bits that differ (<~>)
  kJaccard = 6,       // 1 - |a AND b| / |a OR b| (<%>)
  kUnknown = 0xFF,    // not a distance an index supports
};

// The SQL type of the indexed column or expression (see keys.cpp for how
// each is stored). 0 is vector, so metapages from before this field read right.
enum class KeyType : uint8 { kVector = 0, kHalfvec = 1, kSparsevec = 2, kBit = 3 };

// Bytes of `words` 4-byte words (a code, or a prepared key).
inline size_t WordBytes(int words) { return sizeof(float) * static_cast<size_t>(words); }

// What an index's keys are and how they are compared; each access method's
// index-wide facts start with these.
struct KeyFacts {
  int code_words;  // 4-byte words of a stored code
  KeyType key_type;
  int key_dims;     // dimensions of the key (bits for bit)
  int query_words;  // 4-byte words of a prepared key (PrepareKey): key_dims
                    // float32 values for vector/halfvec/sparsevec, packed bits for bit
  kernels::CodeFormat storage;  // how vectors are stored (float32 or reduced)
  Metric metric;
  // Internal distance, smaller is closer: distance(prepared key, stored code,
  // query_words). For float32 storage a code is a prepared key itself.
  kernels::DistanceFn distance;
  kernels::DecodeFn decode;  // code -> prepared key form; nullptr for float32
};

// A stored code as a prepared key (a query): the code itself for float32
// storage, else its reconstruction decoded into buf (query_words floats).
inline const float* CodeAsQuery(const KeyFacts& f, const float* code, float* buf) {
  if (f.decode == nullptr) return code;
  f.decode(code, buf, static_cast<size_t>(f.query_words));
  return buf;
}

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
// 4-byte words of a stored code.
int CodeWords(KeyType type, kernels::CodeFormat storage, int key_dims);
// The stored code of a prepared key (facts.code_words words).
void EncodeKey(const KeyFacts& facts, const float* prepared, float* code);
// Fills query_words, distance and decode from key_type, key_dims, storage
// and metric.
void SetKernels(KeyFacts* facts);

enum class KeyStatus { kOk, kNotIndexable, kWrongDims };
// Writes the prepared form of `key` to out (facts.query_words words; the
// index stores EncodeKey of it and compares queries in this form):
// kNotIndexable for a zero vector under cosine, kWrongDims (with *key_dims
// set) when the key has other dimensions than the index.
KeyStatus PrepareKey(const KeyFacts& facts, Datum key, float* out, int* key_dims);
// PrepareKey for a row's key: errors for other dimensions than the index's
// ("expected 3 dimensions, not 4"); false for a key the index leaves out.
bool PrepareRowKey(const KeyFacts& facts, Datum key, float* out);
// PrepareKey for a query (an ORDER BY argument): errors for other
// dimensions than the index's ("different vector dimensions 3 and 4"); false
// for a query that has no distance to any row (a zero vector under cosine).
bool PrepareQuery(const KeyFacts& facts, Datum key, float* out);

// The value the SQL operator would return for an internal distance.
double OperatorDistance(Metric metric, float internal);

// The key an index scan orders a row by, in the operator's units, from the
// internal distance of the row's code and the code's error and norm
// (kernels::CodeError/CodeNorm; 0 for float32): the operator's distance for
// float32 codes; for reduced codes a lower bound of the true distance
// (kernels/lower_bound.h), and *recheck is set so that the executor
// computes the true one and orders by it. Also a lower bound, to recheck,
// where a float32 sum overflowed (values near FLT_MAX; the operator sums in
// double). query_norm is ||query||_2 (for inner-product bounds).
double OrderKey(const KeyFacts& facts, float distance, float error, float code_norm, double query_norm,
                bool* recheck);

}  // namespace vecann::am

#endif  // VECANN_AM_KEYS_H_
