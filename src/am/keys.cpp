// Index keys: which SQL types vecann's indexes accept and how a key becomes
// the words an index stores and compares.
//
// Every key is stored as an array of 4-byte words, so that the search, the
// in-memory build and the page layout handle all types alike:
//   vector     float32 values, one per word
//   halfvec    converted to float32 on the way in (same words as vector)
//   sparsevec  expanded to dense float32 (the dimension limit applies to dims)
//   bit        the bits, packed, zero-padded to whole words
// Cosine indexes store unit vectors. That is the prepared key (PrepareKey),
// the form queries are compared in. The index stores it as a code
// (EncodeKey): the prepared words themselves for quantization = 'f32', a
// reduced form for the others (float keys only; kernels/quantize.h). The
// distance between a prepared query and a code is chosen once (DistanceFor)
// and takes the number of prepared words.
#include <cfloat>
#include <cmath>

#include "am/keys.h"
#include "kernels/bits.h"
#include "kernels/half.h"
#include "kernels/lower_bound.h"
#include "type/halfvec.h"
#include "type/sparsevec.h"
#include "type/vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "utils/lsyscache.h"
#include "utils/float.h"
#include "utils/regproc.h"
#include "utils/varbit.h"
}

namespace vecann::am {
namespace {

float HammingWords(const float* a, const float* b, size_t words) {
  return static_cast<float>(kernels::BitKernels().hamming(reinterpret_cast<const uint8_t*>(a),
                                                          reinterpret_cast<const uint8_t*>(b), words * 4));
}

float JaccardWords(const float* a, const float* b, size_t words) {
  kernels::AndOrCounts c = kernels::BitKernels().and_or(reinterpret_cast<const uint8_t*>(a),
                                                        reinterpret_cast<const uint8_t*>(b), words * 4);
  return static_cast<float>(kernels::JaccardDistance(c));
}

// Scales the n floats to unit length; false for a zero vector.
bool Normalize(float* x, int n) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  if (!(sum > 0.0)) return false;
  double norm = std::sqrt(sum);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] / norm);
  return true;
}

}  // namespace

}  // namespace vecann::am

// The functions that identify vecann's types (their input functions) and
// metrics (the distance support functions), compared by address: a type or a
// function is vecann's only if Postgres calls into this very code for it,
// whatever it is named and in whichever schema it lives.
extern "C" {
Datum vector_in(PG_FUNCTION_ARGS);
Datum halfvec_in(PG_FUNCTION_ARGS);
Datum sparsevec_in(PG_FUNCTION_ARGS);
Datum vector_l2_squared_distance(PG_FUNCTION_ARGS);
Datum vector_negative_inner_product(PG_FUNCTION_ARGS);
Datum l1_distance(PG_FUNCTION_ARGS);
Datum halfvec_l2_squared_distance(PG_FUNCTION_ARGS);
Datum halfvec_negative_inner_product(PG_FUNCTION_ARGS);
Datum halfvec_l1_distance(PG_FUNCTION_ARGS);
Datum sparsevec_l2_squared_distance(PG_FUNCTION_ARGS);
Datum sparsevec_negative_inner_product(PG_FUNCTION_ARGS);
Datum sparsevec_l1_distance(PG_FUNCTION_ARGS);
Datum hamming_distance(PG_FUNCTION_ARGS);
Datum jaccard_distance(PG_FUNCTION_ARGS);
}

namespace vecann::am {
namespace {

struct KnownDistance {
  PGFunction fn;
  KeyType key_type;
  Metric metric;  // kInnerProduct becomes kCosine when the opclass normalizes
};
const KnownDistance kKnownDistances[] = {
    {vector_l2_squared_distance, KeyType::kVector, Metric::kL2},
    {vector_negative_inner_product, KeyType::kVector, Metric::kInnerProduct},
    {l1_distance, KeyType::kVector, Metric::kL1},
    {halfvec_l2_squared_distance, KeyType::kHalfvec, Metric::kL2},
    {halfvec_negative_inner_product, KeyType::kHalfvec, Metric::kInnerProduct},
    {halfvec_l1_distance, KeyType::kHalfvec, Metric::kL1},
    {sparsevec_l2_squared_distance, KeyType::kSparsevec, Metric::kL2},
    {sparsevec_negative_inner_product, KeyType::kSparsevec, Metric::kInnerProduct},
    {sparsevec_l1_distance, KeyType::kSparsevec, Metric::kL1},
    {hamming_distance, KeyType::kBit, Metric::kHamming},
    {jaccard_distance, KeyType::kBit, Metric::kJaccard},
};

PGFunction AddressOf(Oid proc) {
  FmgrInfo info;
  fmgr_info(proc, &info);
  return info.fn_addr;
}

// The key type of an operator class's input type, by its input function.
bool KeyTypeOfType(Oid type, KeyType* out) {
  if (type == BITOID) {
    *out = KeyType::kBit;
    return true;
  }
  Oid input, ioparam;
  getTypeInputInfo(type, &input, &ioparam);
  PGFunction fn = AddressOf(input);
  if (fn == vector_in) {
    *out = KeyType::kVector;
  } else if (fn == halfvec_in) {
    *out = KeyType::kHalfvec;
  } else if (fn == sparsevec_in) {
    *out = KeyType::kSparsevec;
  } else {
    return false;
  }
  return true;
}

IndexColumn FindColumn(Relation index) {
  IndexColumn c;
  Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(index), 0);
  Oid opclass_type = index->rd_opcintype[0];
  const char* am = get_am_name(index->rd_rel->relam);
  if (!KeyTypeOfType(opclass_type, &c.key_type)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("%s indexes support vector, halfvec, sparsevec and bit keys, not %s", am,
                           format_type_be(opclass_type))));
  }
  // The column must have the operator class's type itself (or a domain over
  // it): a merely binary-coercible type, such as bit varying for bit, has
  // another layout.
  c.typmod = attr->atttypmod;
  Oid column_type = getBaseTypeAndTypmod(attr->atttypid, &c.typmod);
  if (attr->atttypmod >= 0) c.typmod = attr->atttypmod;
  if (column_type != opclass_type) {
    ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                    errmsg("%s operator class for %s cannot index a column of type %s", am,
                           format_type_be(opclass_type), format_type_be(attr->atttypid)),
                    errhint("Index an expression cast to %s, such as ((col::%s(n))).",
                            format_type_be(opclass_type), format_type_be(opclass_type))));
  }
  // The metric: what support function 1 computes, and whether support
  // function 2 (normalize first) is present.
  PGFunction distance = AddressOf(index_getprocid(index, 1, 1));
  bool normalize = OidIsValid(index_getprocid(index, 1, 2));
  c.metric = Metric::kUnknown;
  for (const KnownDistance& k : kKnownDistances) {
    if (k.fn != distance || k.key_type != c.key_type) continue;
    c.metric = k.metric;
    if (normalize) c.metric = k.metric == Metric::kInnerProduct ? Metric::kCosine : Metric::kUnknown;
  }
  if (c.metric == Metric::kUnknown) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("%s does not support distance function %s for %s keys", am,
                           format_procedure(index_getprocid(index, 1, 1)), KeyTypeName(c.key_type)),
                    errhint("Use one of vecann's %s operator classes, such as vector_l2_ops.", am)));
  }
  return c;
}

}  // namespace

const IndexColumn& ColumnOfIndex(Relation index) {
  if (index->rd_amcache == nullptr) {
    IndexColumn c = FindColumn(index);
    void* cache = MemoryContextAlloc(index->rd_indexcxt, sizeof(IndexColumn));
    memcpy(cache, &c, sizeof c);
    index->rd_amcache = cache;
  }
  return *static_cast<const IndexColumn*>(index->rd_amcache);
}

int WordsFor(KeyType type, int key_dims) { return type == KeyType::kBit ? (key_dims + 31) / 32 : key_dims; }

const char* KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kVector:
      return "vector";
    case KeyType::kHalfvec:
      return "halfvec";
    case KeyType::kSparsevec:
      return "sparsevec";
    case KeyType::kBit:
      return "bit";
  }
  return "vector";
}

KeyStatus PrepareKey(const KeyFacts& f, Datum key, float* out, int* key_dims) {
  int words = f.query_words;
  switch (f.key_type) {
    case KeyType::kVector: {
      auto* v = type::DatumGetVector(key);
      *key_dims = v->dim;
      if (v->dim != f.key_dims) return KeyStatus::kWrongDims;
      memcpy(out, v->x, WordBytes(words));
      break;
    }
    case KeyType::kHalfvec: {
      auto* v = type::DatumGetHalfVector(key);
      *key_dims = v->dim;
      if (v->dim != f.key_dims) return KeyStatus::kWrongDims;
      kernels::HalfKernels().to_float(v->x, out, static_cast<size_t>(words));
      break;
    }
    case KeyType::kSparsevec: {
      auto* v = type::DatumGetSparseVector(key);
      *key_dims = v->dim;
      if (v->dim != f.key_dims) return KeyStatus::kWrongDims;
      memset(out, 0, WordBytes(words));
      const float* values = type::SparseValues(v);
      for (int i = 0; i < v->nnz; ++i) out[v->indices[i]] = values[i];
      break;
    }
    case KeyType::kBit: {
      auto* v = DatumGetVarBitP(key);
      *key_dims = VARBITLEN(v);
      if (VARBITLEN(v) != f.key_dims) return KeyStatus::kWrongDims;
      memset(out, 0, WordBytes(words));
      memcpy(out, VARBITS(v), VARBITBYTES(v));
      break;
    }
  }
  if (f.metric == Metric::kCosine && !Normalize(out, words)) return KeyStatus::kNotIndexable;
  return KeyStatus::kOk;
}

bool PrepareRowKey(const KeyFacts& f, Datum key, float* out) {
  int key_dims;
  KeyStatus status = PrepareKey(f, key, out, &key_dims);
  if (status == KeyStatus::kWrongDims) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("expected %d dimensions, not %d", f.key_dims, key_dims)));
  }
  return status == KeyStatus::kOk;
}

bool PrepareQuery(const KeyFacts& f, Datum key, float* out) {
  int key_dims;
  KeyStatus status = PrepareKey(f, key, out, &key_dims);
  if (status == KeyStatus::kWrongDims) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different %s dimensions %d and %d", KeyTypeName(f.key_type), f.key_dims, key_dims)));
  }
  return status == KeyStatus::kOk;
}

kernels::DistanceFn DistanceFor(Metric metric, kernels::CodeFormat storage) {
  const kernels::CodeKernelTable& k = kernels::CodeKernels(storage);
  switch (metric) {
    case Metric::kL2:
      return k.squared_l2;
    case Metric::kL1:
      return k.l1;
    case Metric::kHamming:
      return HammingWords;
    case Metric::kJaccard:
      return JaccardWords;
    case Metric::kInnerProduct:
    case Metric::kCosine:
    case Metric::kUnknown:
      break;
  }
  return k.neg_inner_product;
}

int CodeWords(KeyType type, kernels::CodeFormat storage, int key_dims) {
  if (type == KeyType::kBit || storage == kernels::CodeFormat::kF32) return WordsFor(type, key_dims);
  return static_cast<int>(kernels::CodeBytes(storage, static_cast<size_t>(key_dims)) / 4);
}

void EncodeKey(const KeyFacts& f, const float* prepared, float* code) {
  if (f.storage == kernels::CodeFormat::kF32) {
    memcpy(code, prepared, WordBytes(f.code_words));
    return;
  }
  kernels::Encode(f.storage, prepared, static_cast<size_t>(f.query_words),
                  f.metric == Metric::kL1 ? kernels::ErrorNorm::kL1 : kernels::ErrorNorm::kL2, code);
}

void SetKernels(KeyFacts* f) {
  f->query_words = WordsFor(f->key_type, f->key_dims);
  f->distance = DistanceFor(f->metric, f->storage);
  f->decode = f->storage == kernels::CodeFormat::kF32 ? nullptr : kernels::CodeKernels(f->storage).decode;
}

double OperatorDistance(Metric metric, float internal) {
  switch (metric) {
    case Metric::kL2:
      return std::sqrt(static_cast<double>(internal));
    case Metric::kInnerProduct:
    case Metric::kL1:
    case Metric::kHamming:
    case Metric::kJaccard:
    case Metric::kUnknown:
      return static_cast<double>(internal);
    case Metric::kCosine:
      return 1.0 + static_cast<double>(internal);
  }
  return static_cast<double>(internal);
}

double OrderKey(const KeyFacts& f, float distance, float error, float code_norm, double query_norm, bool* recheck) {
  if (f.storage == kernels::CodeFormat::kF32) {
    *recheck = false;
    if (std::isfinite(distance)) return OperatorDistance(f.metric, distance);
    // A float sum of non-negative terms overflows only past FLT_MAX (less
    // rounding), which bounds L2 and L1; for the others no bound is known.
    const double below = 1.0 - 2.0 * (f.query_words + 8) * std::ldexp(1.0, -24);
    *recheck = true;
    return f.metric == Metric::kL2   ? std::sqrt(FLT_MAX * below)
           : f.metric == Metric::kL1 ? FLT_MAX * below
                                     : -get_float8_infinity();
  }
  *recheck = true;
  kernels::BoundMetric metric;
  switch (f.metric) {
    case Metric::kL2:
      metric = kernels::BoundMetric::kL2;
      break;
    case Metric::kL1:
      metric = kernels::BoundMetric::kL1;
      break;
    case Metric::kCosine:
      metric = kernels::BoundMetric::kCosine;
      break;
    case Metric::kInnerProduct:
      metric = kernels::BoundMetric::kInnerProduct;
      break;
    default:
      return OperatorDistance(f.metric, distance);
  }
  return kernels::DistanceLowerBound(metric, distance, error, code_norm, static_cast<size_t>(f.query_words),
                                     query_norm);
}

}  // namespace vecann::am
