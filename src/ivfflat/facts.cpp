// ivfflat index-wide facts and page checks: the metapage, checked before use,
// and readers of centroid and list pages that never trust a byte (every
// block number against the index's size, every item's size against the
// index's, page types from the special space), so a corrupt index ends in
// ERRCODE_INDEX_CORRUPTED, never a read outside a page.
#include "ivfflat/ivfflat.h"

extern "C" {
#include "port/pg_crc32c.h"
#include "storage/bufmgr.h"
#include "miscadmin.h"
}

namespace vecann::ivfflat {

void InitPage(Page page, uint16 page_type) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  GetOpaque(page)->page_type = page_type;
  GetOpaque(page)->unused = 0;
  GetOpaque(page)->next = InvalidBlockNumber;
}

uint32 MetaChecksum(const IvfMeta* meta) {
  pg_crc32c crc;
  INIT_CRC32C(crc);
  COMP_CRC32C(crc, meta, offsetof(IvfMeta, checksum));
  FIN_CRC32C(crc);
  return crc;
}

void SealMeta(IvfMeta* meta) { meta->checksum = MetaChecksum(meta); }

namespace {

// The key types and metrics pgvector's ivfflat offers (and vecann's opclasses).
bool Supported(KeyType type, Metric metric) {
  switch (type) {
    case KeyType::kVector:
    case KeyType::kHalfvec:
      return metric == Metric::kL2 || metric == Metric::kInnerProduct || metric == Metric::kCosine;
    case KeyType::kBit:
      return metric == Metric::kHamming;
    case KeyType::kSparsevec:
      break;
  }
  return false;
}

// Whether a page is of `type`, with exactly ivfflat's special space.
bool PageIs(Page page, uint16 type) {
  auto* header = reinterpret_cast<PageHeader>(page);
  return !PageIsNew(page) && header->pd_special == BLCKSZ - MAXALIGN(sizeof(PageOpaque)) &&
         header->pd_lower >= SizeOfPageHeaderData && header->pd_lower <= header->pd_upper &&
         header->pd_upper <= header->pd_special && GetOpaque(page)->page_type == type;
}

// The item at `off`, checked to have exactly `size` bytes inside the page;
// nullptr for an unused line pointer.
void* CheckedItem(Relation index, Page page, BlockNumber block, OffsetNumber off, size_t size) {
  if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page)) {
    ReportCorrupted(index, "page", "Block %u has no item %u.", block, off);
  }
  ItemId id = PageGetItemId(page, off);
  if (!ItemIdIsUsed(id)) return nullptr;
  auto* header = reinterpret_cast<PageHeader>(page);
  if (!ItemIdIsNormal(id) || ItemIdGetLength(id) != size || ItemIdGetOffset(id) < header->pd_upper ||
      ItemIdGetOffset(id) + size > header->pd_special || ItemIdGetOffset(id) % MAXIMUM_ALIGNOF != 0) {
    ReportCorrupted(index, "item", "Item %u of block %u has offset %u and length %u; items have %zu bytes.", off,
                    block, ItemIdGetOffset(id), ItemIdGetLength(id), size);
  }
  return PageGetItem(page, id);
}

}  // namespace

IndexFacts NewFacts(Relation index, int lists) {
  IndexFacts f;
  memset(&f, 0, sizeof(f));
  const am::IndexColumn& column = am::ColumnOfIndex(index);
  f.key_type = column.key_type;
  f.metric = column.metric;
  if (!Supported(f.key_type, f.metric)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("ivfflat does not support this operator class for %s keys", am::KeyTypeName(f.key_type)),
                    errhint("ivfflat indexes vector and halfvec with L2, inner product or cosine distance, and bit "
                            "with Hamming distance.")));
  }
  f.key_dims = column.typmod;
  if (f.key_dims < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
                    errhint("Declare the column as %s(n), or index an expression such as (embedding::%s(3)).",
                            am::KeyTypeName(f.key_type), am::KeyTypeName(f.key_type))));
  }
  f.storage = GetQuantization(index);
  if (f.storage == kernels::CodeFormat::kBit ||
      (f.key_type == KeyType::kBit && f.storage != kernels::CodeFormat::kF32)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ivfflat option \"quantization\" = \"%s\" is not supported for %s columns",
                           kernels::CodeFormatName(f.storage), am::KeyTypeName(f.key_type)),
                    errdetail("ivfflat stores float keys as \"f32\", \"f16\", \"bf16\" or \"i8\", and bits as "
                              "they are.")));
  }
  f.code_words = am::CodeWords(f.key_type, f.storage, f.key_dims);
  am::SetKernels(&f);
  f.centroid_distance = am::DistanceFor(f.metric, kernels::CodeFormat::kF32);
  if (f.query_words > MaxWords()) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("%s of %d dimensions is too large for an ivfflat index", am::KeyTypeName(f.key_type),
                           f.key_dims),
                    errdetail("A list's centroid must fit in one %d-byte page: at most %d values (%d bits for bit).",
                              BLCKSZ, MaxWords(), MaxWords() * 32)));
  }
  f.lists = lists;
  f.per_page = ItemsPerPage(CentroidTupleSize(f.query_words));
  f.centroid_pages = static_cast<BlockNumber>((lists + f.per_page - 1) / f.per_page);
  return f;
}

void WriteMeta(Page page, const IndexFacts& f) {
  InitPage(page, kPageMeta);
  IvfMeta* meta = GetMeta(page);
  memset(meta, 0, sizeof(*meta));
  meta->magic = kMagic;
  meta->version = kFormatVersion;
  meta->key_type = static_cast<uint8>(f.key_type);
  meta->metric = static_cast<uint8>(f.metric);
  meta->storage = static_cast<uint8>(f.storage);
  meta->code_words = static_cast<uint16>(f.code_words);
  meta->per_page = static_cast<uint16>(f.per_page);
  meta->key_dims = static_cast<uint32>(f.key_dims);
  meta->lists = static_cast<uint32>(f.lists);
  meta->centroid_pages = f.centroid_pages;
  SealMeta(meta);
  reinterpret_cast<PageHeader>(page)->pd_lower = static_cast<LocationIndex>(
      reinterpret_cast<char*>(meta) + sizeof(IvfMeta) - reinterpret_cast<char*>(page));
}

void ReadFacts(Relation index, IndexFacts* facts) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  bool meta_page = PageIs(page, kPageMeta);
  IvfMeta meta = *GetMeta(page);
  UnlockReleaseBuffer(buf);
  if (!meta_page || meta.magic != kMagic) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" is not a vecann ivfflat index", RelationGetRelationName(index)),
                    errdetail("Its first block is not a vecann ivfflat metapage."), errhint("REINDEX it.")));
  }
  if (meta.version != kFormatVersion) {
    ReportCorrupted(index, "metapage", "The on-disk format is %u; this vecann reads format %u.", meta.version,
                    kFormatVersion);
  }
  if (meta.checksum != MetaChecksum(&meta)) {
    ReportCorrupted(index, "metapage", "Its checksum is %08x, its contents give %08x.", meta.checksum,
                    MetaChecksum(&meta));
  }
  const am::IndexColumn& column = am::ColumnOfIndex(index);
  IndexFacts f;
  memset(&f, 0, sizeof(f));
  f.key_type = static_cast<KeyType>(meta.key_type);
  f.metric = static_cast<Metric>(meta.metric);
  f.storage = static_cast<kernels::CodeFormat>(meta.storage);
  if (meta.key_type > static_cast<uint8>(KeyType::kBit) || f.key_type != column.key_type ||
      f.metric != column.metric || !Supported(f.key_type, f.metric)) {
    ReportCorrupted(index, "metapage", "Key type %u and metric %u do not match the index's operator class.",
                    meta.key_type, meta.metric);
  }
  if (meta.storage < static_cast<uint8>(kernels::CodeFormat::kF32) ||
      meta.storage >= static_cast<uint8>(kernels::CodeFormat::kBit) ||
      (f.key_type == KeyType::kBit && f.storage != kernels::CodeFormat::kF32)) {
    ReportCorrupted(index, "metapage", "Storage %u is not one of an ivfflat index of %s keys.", meta.storage,
                    am::KeyTypeName(f.key_type));
  }
  f.key_dims = static_cast<int>(Min(meta.key_dims, static_cast<uint32>(INT_MAX)));
  if (f.key_dims < 1 || (column.typmod > 0 && f.key_dims != column.typmod) ||
      am::WordsFor(f.key_type, f.key_dims) > MaxWords() ||
      meta.code_words != am::CodeWords(f.key_type, f.storage, f.key_dims)) {
    ReportCorrupted(index, "metapage", "%d key dimensions in %u stored words do not fit this index (column of %d).",
                    f.key_dims, meta.code_words, column.typmod);
  }
  f.code_words = meta.code_words;
  am::SetKernels(&f);
  f.centroid_distance = am::DistanceFor(f.metric, kernels::CodeFormat::kF32);
  f.lists = static_cast<int>(Min(meta.lists, static_cast<uint32>(INT_MAX)));
  f.per_page = ItemsPerPage(CentroidTupleSize(f.query_words));
  if (f.lists < kMinLists || f.lists > kMaxLists || meta.per_page != f.per_page ||
      meta.centroid_pages != static_cast<uint32>((f.lists + f.per_page - 1) / f.per_page)) {
    ReportCorrupted(index, "metapage", "%u lists on %u centroid pages of %u do not fit this index.", meta.lists,
                    meta.centroid_pages, meta.per_page);
  }
  f.centroid_pages = meta.centroid_pages;
  *facts = f;
}

void CheckListBlock(Relation index, const IndexFacts& f, BlockNumber block, BlockNumber* nblocks) {
  // The index may have grown since *nblocks was read (an insert's new page).
  if (block >= *nblocks && block != InvalidBlockNumber) *nblocks = RelationGetNumberOfBlocks(index);
  if (block <= f.centroid_pages || block >= *nblocks) {
    ReportCorrupted(index, "link", "Block %u is not a list page of this index (%u centroid pages, %u blocks).", block,
                    f.centroid_pages, *nblocks);
  }
}

CentroidTuple* CentroidAt(Relation index, const IndexFacts& f, Page page, BlockNumber block, int list,
                          BlockNumber* nblocks) {
  if (!PageIs(page, kPageCentroids)) ReportCorrupted(index, "page", "Block %u is not a centroid page.", block);
  auto* t = static_cast<CentroidTuple*>(
      CheckedItem(index, page, block, CentroidOffset(f, list), CentroidTupleSize(f.query_words)));
  if (t == nullptr) ReportCorrupted(index, "page", "The centroid of list %d in block %u is missing.", list, block);
  CheckListBlock(index, f, t->first, nblocks);
  CheckListBlock(index, f, t->last, nblocks);
  return t;
}

int CheckListPage(Relation index, const IndexFacts& f, Page page, BlockNumber block, BlockNumber* nblocks) {
  if (!PageIs(page, kPageList)) ReportCorrupted(index, "page", "Block %u is not a list page.", block);
  BlockNumber next = GetOpaque(page)->next;
  if (next != InvalidBlockNumber) CheckListBlock(index, f, next, nblocks);
  return PageGetMaxOffsetNumber(page);
}

const ListTuple* RowAt(Relation index, const IndexFacts& f, Page page, BlockNumber block, OffsetNumber off) {
  auto* t = static_cast<const ListTuple*>(CheckedItem(index, page, block, off, ListTupleSize(f.code_words)));
  if (t != nullptr && (!ItemPointerIsValid(&t->heap_tid) ||
                       ItemPointerGetBlockNumberNoCheck(&t->heap_tid) == InvalidBlockNumber)) {
    ReportCorrupted(index, "item", "Item %u of block %u names no table row.", off, block);
  }
  return t;
}

void CentroidDistances(Relation index, const IndexFacts& f, const float* prepared, float* out) {
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  for (BlockNumber p = 0; p < f.centroid_pages; ++p) {
    CHECK_FOR_INTERRUPTS();
    BlockNumber block = kFirstCentroidBlock + p;
    if (block >= nblocks) ReportCorrupted(index, "metapage", "Centroid page %u lies past the index's end.", block);
    Buffer buf = ReadBuffer(index, block);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    int first = static_cast<int>(p) * f.per_page;
    int end = Min(f.lists, first + f.per_page);
    for (int j = first; j < end; ++j) {
      const CentroidTuple* t = CentroidAt(index, f, page, block, j, &nblocks);
      out[j] = f.centroid_distance(prepared, CentroidOf(t), static_cast<size_t>(f.query_words));
    }
    UnlockReleaseBuffer(buf);
  }
}

}  // namespace vecann::ivfflat
