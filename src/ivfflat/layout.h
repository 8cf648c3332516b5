// On-disk layout of a vecann ivfflat index: an inverted file of lists, each
// the rows nearest to one centroid (all pages ordinary Postgres buffer pages;
// the special space of each says what it is).
//
// Block 0, the metapage: IvfMeta, behind the page header.
// Blocks 1 .. centroid_pages, centroid pages: one item per list, list j at
//   block 1 + j / per_page, offset 1 + j % per_page, each a CentroidTuple:
//     0   4            first page of the list's chain
//     4   4            last page (where inserts add rows)
//     8   4*query_words  the centroid as a prepared key (am/keys.h: float32,
//                      unit length for cosine; packed bits for bit)
// Further blocks, list pages: items of ListTuple, a row's heap TID and its
//   code (float32 or the quantization's reduced form, kernels/quantize.h);
//   the special space links each page to the next of its list.
// Every list has at least one page. The build writes a list's pages in runs
// (one run per chunk of rows it assigns, a single run when the rows fit
// maintenance_work_mem); later inserts append pages at the end of the relation.
//
// Lock order (inserts, the only writers of centroid pages): a centroid page,
// then its list's last page, then a new page. Scans and VACUUM hold one
// page lock at a time.
#ifndef VECANN_IVFFLAT_LAYOUT_H_
#define VECANN_IVFFLAT_LAYOUT_H_

#include "am/keys.h"

extern "C" {
#include "storage/bufpage.h"
#include "storage/itemptr.h"
}

namespace vecann::ivfflat {

using am::KeyType;
using am::Metric;
using am::WordBytes;

constexpr uint32 kMagic = 0x56495646;  // "VIVF"
constexpr uint32 kFormatVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
constexpr BlockNumber kFirstCentroidBlock = 1;

constexpr uint16 kPageMeta = 0xA711;
constexpr uint16 kPageCentroids = 0xA712;
constexpr uint16 kPageList = 0xA713;

struct PageOpaque {
  uint16 page_type;
  uint16 unused;
  BlockNumber next;  // list pages: the next page of the list, or InvalidBlockNumber
};

struct IvfMeta {
  uint32 magic;
  uint32 version;
  uint8 key_type;  // am::KeyType
  uint8 metric;    // am::Metric
  uint8 storage;   // kernels::CodeFormat of the list rows' codes
  uint8 unused;
  uint16 code_words;  // 4-byte words of a row's code
  uint16 per_page;    // centroid tuples per centroid page
  uint32 key_dims;    // dimensions (bits for bit) of the key
  uint32 lists;
  uint32 centroid_pages;
  uint32 checksum;  // CRC-32C of the fields above (SealMeta)
};
static_assert(offsetof(IvfMeta, checksum) == 28, "the checksum covers 28 bytes without padding");

struct CentroidTuple {
  BlockNumber first;
  BlockNumber last;
  // the centroid (query_words words)
};

struct ListTuple {
  ItemPointerData heap_tid;
  uint16 unused;
  // the code (code_words words)
};
static_assert(sizeof(ListTuple) == 8, "list tuple header must be 8 bytes");

inline size_t CentroidTupleSize(int query_words) { return sizeof(CentroidTuple) + WordBytes(query_words); }
inline size_t ListTupleSize(int code_words) { return sizeof(ListTuple) + WordBytes(code_words); }

inline float* CentroidOf(CentroidTuple* t) { return reinterpret_cast<float*>(t + 1); }
inline const float* CentroidOf(const CentroidTuple* t) { return reinterpret_cast<const float*>(t + 1); }
inline const float* CodeOf(const ListTuple* t) { return reinterpret_cast<const float*>(t + 1); }
inline float* CodeOf(ListTuple* t) { return reinterpret_cast<float*>(t + 1); }

// Bytes a page offers to items (each item also costs an ItemIdData).
inline size_t PageCapacity() { return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PageOpaque)); }
// Items of `size` bytes that fit one page.
inline int ItemsPerPage(size_t size) { return static_cast<int>(PageCapacity() / (MAXALIGN(size) + sizeof(ItemIdData))); }

// The most 4-byte words a centroid or a code may have (one item per page).
inline int MaxWords() {
  return static_cast<int>(((PageCapacity() - sizeof(ItemIdData)) / MAXIMUM_ALIGNOF * MAXIMUM_ALIGNOF - 8) / 4);
}

inline PageOpaque* GetOpaque(Page page) { return reinterpret_cast<PageOpaque*>(PageGetSpecialPointer(page)); }
inline IvfMeta* GetMeta(Page page) { return reinterpret_cast<IvfMeta*>(PageGetContents(page)); }

// Initializes an empty page of the given type (next: InvalidBlockNumber).
void InitPage(Page page, uint16 page_type);
// Sets the metapage's checksum after any change to it, and checks it.
void SealMeta(IvfMeta* meta);
uint32 MetaChecksum(const IvfMeta* meta);

}  // namespace vecann::ivfflat

#endif  // VECANN_IVFFLAT_LAYOUT_H_
