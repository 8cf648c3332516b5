// Index-wide facts: the metapage's contents, checked before use, and how
// internal distances become the operator's.
#include <cmath>

#include "core/hnsw_types.h"
#include "hnsw/hnsw.h"
#include "hnsw/pages.h"

extern "C" {
#include "port/pg_crc32c.h"
#include "storage/bufmgr.h"
}

namespace vecann::hnsw {

void InitPage(Page page, uint16 page_type) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  GetOpaque(page)->page_type = page_type;
  GetOpaque(page)->unused = 0;
}

int MaxLevelForCode(int code_words, int m) {
  int level = 0;
  while (level < core::kMaxLevel && NodeFits(code_words, m, level + 1)) ++level;
  return level;
}

uint32 MetaChecksum(const HnswMetaData* meta) {
  pg_crc32c crc;
  INIT_CRC32C(crc);
  COMP_CRC32C(crc, meta, offsetof(HnswMetaData, checksum));
  FIN_CRC32C(crc);
  return crc;
}

void SealMeta(HnswMetaData* meta) {
  if (meta->version >= 2) meta->checksum = MetaChecksum(meta);
}

bool MetaChecksumOk(const HnswMetaData* meta) { return meta->version < 2 || meta->checksum == MetaChecksum(meta); }

namespace {

bool ValidMetric(uint8 metric, KeyType key_type) {
  switch (static_cast<Metric>(metric)) {
    case Metric::kL2:
    case Metric::kInnerProduct:
    case Metric::kCosine:
    case Metric::kL1:
      return key_type != KeyType::kBit;
    case Metric::kHamming:
    case Metric::kJaccard:
      return key_type == KeyType::kBit;
    case Metric::kUnknown:
      break;
  }
  return false;
}

}  // namespace

void ReadFacts(Relation index, IndexFacts* facts) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  bool meta_page = !PageIsNew(page) &&
                   reinterpret_cast<PageHeader>(page)->pd_special == BLCKSZ - MAXALIGN(sizeof(PageOpaque)) &&
                   GetOpaque(page)->page_type == kPageMeta;
  HnswMetaData meta = *GetMeta(page);
  UnlockReleaseBuffer(buf);
  if (!meta_page || meta.magic != kMagic) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" is not a vecann hnsw index", RelationGetRelationName(index)),
                    errdetail("Its first block is not a vecann hnsw metapage."), errhint("REINDEX it.")));
  }
  if (meta.version < kOldestFormatVersion || meta.version > kFormatVersion) {
    ReportCorrupted(index, "metapage", "The on-disk format is %u; this vecann reads formats %u to %u.", meta.version,
                    kOldestFormatVersion, kFormatVersion);
  }
  if (!MetaChecksumOk(&meta)) {
    ReportCorrupted(index, "metapage", "Its checksum is %08x, its contents give %08x.", meta.checksum,
                    MetaChecksum(&meta));
  }
  if (meta.storage < static_cast<uint8>(kernels::CodeFormat::kF32) ||
      meta.storage > static_cast<uint8>(kernels::CodeFormat::kBit) || meta.key_type > static_cast<uint8>(KeyType::kBit)) {
    ReportCorrupted(index, "metapage", "Storage %u or key type %u is unknown.", meta.storage, meta.key_type);
  }
  const IndexColumn& column = ColumnOfIndex(index);
  auto key_type = static_cast<KeyType>(meta.key_type);
  auto storage = static_cast<kernels::CodeFormat>(meta.storage);
  if (key_type != column.key_type || static_cast<Metric>(meta.metric) != column.metric ||
      !ValidMetric(meta.metric, key_type)) {
    ReportCorrupted(index, "metapage", "Key type %u and metric %u do not match the index's operator class.",
                    meta.key_type, meta.metric);
  }
  if (meta.m < kOptionMinM || meta.m > kOptionMaxM || meta.ef_construction < kMinEfConstruction ||
      meta.ef_construction > kMaxEfConstruction) {
    ReportCorrupted(index, "metapage", "m = %u and ef_construction = %u are out of range.", meta.m,
                    meta.ef_construction);
  }
  // Indexes of float32 vector keys made before key_dims existed leave it 0
  // (= code_words); no other index may.
  bool legacy = meta.key_dims == 0 && key_type == KeyType::kVector && storage == kernels::CodeFormat::kF32;
  int key_dims = legacy ? meta.code_words : static_cast<int>(Min(meta.key_dims, static_cast<uint32>(INT_MAX)));
  int limit = MaxKeyDims(key_type, storage, meta.m);
  if (key_dims < 1 || key_dims > limit || meta.code_words != CodeWords(key_type, storage, key_dims) ||
      (column.typmod > 0 && key_dims != column.typmod)) {
    ReportCorrupted(index, "metapage",
                    "%d key dimensions in %u stored words do not fit this index (limit %d, column of %d).", key_dims,
                    meta.code_words, limit, column.typmod);
  }
  if (meta.max_level != MaxLevelForCode(meta.code_words, meta.m)) {
    ReportCorrupted(index, "metapage", "The highest level is %u, not %d.", meta.max_level,
                    MaxLevelForCode(meta.code_words, meta.m));
  }
  bool has_entry = ItemPointerIsValid(&meta.entry);
  if (has_entry ? (meta.entry_level < 0 || meta.entry_level > meta.max_level ||
                   ItemPointerGetBlockNumberNoCheck(&meta.entry) == kMetaBlock)
                : meta.entry_level != -1) {
    ReportCorrupted(index, "metapage", "The entry point (%u,%u) of level %d is not a node of this index.",
                    ItemPointerGetBlockNumberNoCheck(&meta.entry), ItemPointerGetOffsetNumberNoCheck(&meta.entry),
                    meta.entry_level);
  }
  facts->code_words = meta.code_words;
  facts->key_type = key_type;
  facts->key_dims = key_dims;
  facts->storage = storage;
  facts->metric = static_cast<Metric>(meta.metric);
  facts->m = meta.m;
  facts->ef_construction = meta.ef_construction;
  facts->max_level = meta.max_level;
  facts->entry = meta.entry;
  facts->entry_level = meta.entry_level;
  SetKernels(facts);
}

int MaxKeyDims(KeyType type, kernels::CodeFormat storage, int m) {
  int words = MaxCodeWordsForM(m);
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

}  // namespace vecann::hnsw
