// Index-wide facts: the metapage's contents, the metric an operator class
// asks for, and how vectors and distances are converted for that metric.
#include <cmath>

#include "core/hnsw_types.h"
#include "hnsw/hnsw.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "storage/bufmgr.h"
#include "utils/syscache.h"
}

namespace vecann::hnsw {

void InitPage(Page page, uint16 page_type) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  GetOpaque(page)->page_type = page_type;
  GetOpaque(page)->unused = 0;
}

int MaxLevelForDims(int dims, int m) {
  int level = 0;
  while (level < core::kMaxLevel && NodeFits(dims, m, level + 1)) ++level;
  return level;
}

void ReadFacts(Relation index, IndexFacts* facts) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  HnswMetaData meta = *GetMeta(page);
  uint16 page_type = GetOpaque(page)->page_type;
  UnlockReleaseBuffer(buf);
  if (page_type != kPageMeta || meta.magic != kMagic) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" is not a vecann hnsw index", RelationGetRelationName(index))));
  }
  if (meta.version != kFormatVersion || meta.storage < static_cast<uint8>(kernels::CodeFormat::kF32) ||
      meta.storage > static_cast<uint8>(kernels::CodeFormat::kBit)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("index \"%s\" has on-disk format %u (storage %u), which this vecann cannot read",
                           RelationGetRelationName(index), meta.version, meta.storage),
                    errhint("REINDEX it.")));
  }
  facts->dims = meta.dims;
  facts->key_type = static_cast<KeyType>(meta.key_type);
  facts->key_dims = meta.key_dims ? static_cast<int>(meta.key_dims) : meta.dims;
  facts->storage = static_cast<kernels::CodeFormat>(meta.storage);
  facts->metric = static_cast<Metric>(meta.metric);
  facts->m = meta.m;
  facts->ef_construction = meta.ef_construction;
  facts->max_level = meta.max_level;
  facts->entry = meta.entry;
  facts->entry_level = meta.entry_level;
  SetKernels(facts);
}

Metric MetricOfOpclass(Relation index) {
  // The distance support function is one of ours; its C symbol names the metric.
  Oid proc = index_getprocid(index, 1, 1);
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(proc));
  if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for function %u", proc);
  bool isnull;
  Datum src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
  char* symbol = isnull ? pstrdup("") : TextDatumGetCString(src);
  ReleaseSysCache(tup);
  Metric metric = MetricOfSymbol(symbol, OidIsValid(index_getprocid(index, 1, 2)));
  if (metric == Metric::kUnknown) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("hnsw does not support distance function \"%s\"", symbol),
                    errhint("Use one of vecann's hnsw operator classes, such as vector_l2_ops.")));
  }
  return metric;
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

}  // namespace vecann::hnsw
