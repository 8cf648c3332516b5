// Index keys: which SQL types an HNSW index accepts and how a key becomes
// the words the index stores and compares.
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
#include <cmath>

#include "hnsw/hnsw.h"
#include "kernels/bits.h"
#include "kernels/half.h"
#include "type/halfvec.h"
#include "type/sparsevec.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/syscache.h"
#include "utils/varbit.h"
}

namespace vecann::hnsw {
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

KeyType KeyTypeOfIndex(Relation index) {
  Oid typid = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
  if (typid == BITOID) return KeyType::kBit;
  HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for type %u", typid);
  const char* name = NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tup))->typname);
  KeyType type = strcmp(name, "halfvec") == 0     ? KeyType::kHalfvec
                 : strcmp(name, "sparsevec") == 0 ? KeyType::kSparsevec
                                                  : KeyType::kVector;
  ReleaseSysCache(tup);
  return type;
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

KeyStatus PrepareKey(const IndexFacts& f, Datum key, float* out, int* key_dims) {
  int words = f.query_words;
  switch (f.key_type) {
    case KeyType::kVector: {
      auto* v = type::DatumGetVector(key);
      *key_dims = v->dim;
      if (v->dim != f.key_dims) return KeyStatus::kWrongDims;
      memcpy(out, v->x, VectorBytes(words));
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
      memset(out, 0, VectorBytes(words));
      const float* values = type::SparseValues(v);
      for (int i = 0; i < v->nnz; ++i) out[v->indices[i]] = values[i];
      break;
    }
    case KeyType::kBit: {
      auto* v = DatumGetVarBitP(key);
      *key_dims = VARBITLEN(v);
      if (VARBITLEN(v) != f.key_dims) return KeyStatus::kWrongDims;
      memset(out, 0, VectorBytes(words));
      memcpy(out, VARBITS(v), VARBITBYTES(v));
      break;
    }
  }
  if (f.metric == Metric::kCosine && !Normalize(out, words)) return KeyStatus::kNotIndexable;
  return KeyStatus::kOk;
}

Metric MetricOfSymbol(const char* symbol, bool normalize) {
  auto ends_with = [symbol](const char* suffix) {
    size_t n = strlen(symbol), k = strlen(suffix);
    return n >= k && strcmp(symbol + n - k, suffix) == 0;
  };
  if (normalize) return ends_with("negative_inner_product") ? Metric::kCosine : Metric::kUnknown;
  if (ends_with("l2_squared_distance")) return Metric::kL2;
  if (ends_with("negative_inner_product")) return Metric::kInnerProduct;
  if (ends_with("l1_distance")) return Metric::kL1;
  if (strcmp(symbol, "hamming_distance") == 0) return Metric::kHamming;
  if (strcmp(symbol, "jaccard_distance") == 0) return Metric::kJaccard;
  return Metric::kUnknown;
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

int MaxKeyDims(KeyType type, kernels::CodeFormat storage, int m) {
  int words = MaxDimsForM(m);
  if (type == KeyType::kBit && storage != kernels::CodeFormat::kF32) return 0;
  // Codes grow with the dimensions, and never by less than a word per 32
  // dimensions: the answer lies below words * 32.
  int lo = 0, hi = words * 32;
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (CodeWords(type, storage, mid) <= words) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

void EncodeKey(const IndexFacts& f, const float* prepared, float* code) {
  if (f.storage == kernels::CodeFormat::kF32) {
    memcpy(code, prepared, VectorBytes(f.dims));
    return;
  }
  kernels::Encode(f.storage, prepared, static_cast<size_t>(f.query_words),
                  f.metric == Metric::kL1 ? kernels::ErrorNorm::kL1 : kernels::ErrorNorm::kL2, code);
}

void SetKernels(IndexFacts* f) {
  f->query_words = WordsFor(f->key_type, f->key_dims);
  f->distance = DistanceFor(f->metric, f->storage);
  f->decode = f->storage == kernels::CodeFormat::kF32 ? nullptr : kernels::CodeKernels(f->storage).decode;
}

}  // namespace vecann::hnsw
