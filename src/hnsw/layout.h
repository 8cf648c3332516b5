// On-disk layout of a vecann HNSW index (all pages are ordinary Postgres
// buffer pages; the last bytes of each page, its special space, say what it is).
//
// Block 0, the metapage: HnswMetaData below, behind the page header.
//
// Blocks 1.., node pages: one item per graph node, each item a node tuple
// holding everything a search needs to visit the node, so that visiting costs
// one buffer access (pin, share lock, copy, unlock):
//
//   offset  size             field
//   0       6                heap TID of the row (ItemPointerData)
//   6       1                level L of the node (0..kMaxLevel)
//   7       1                flags (kNodeDeleted: the row is gone; the node
//                            stays as a waypoint until vacuum repairs the graph)
//   8       4*code_words     the vector's code: float32 values, or the reduced
//                            form the index option `quantization` chose (the
//                            metapage's storage byte; kernels/quantize.h has
//                            each format's layout), in 4-byte words
//   ...     6*(2m + L*m)     neighbour slots: 2m for level 0, then m for each
//                            level 1..L; each an index TID (block, offset) of
//                            another node tuple, unused slots invalid
//
// Item sizes are rounded up to MAXALIGN (8) by the page. Sizes at m = 16:
//   128-d, level 0:   8 + 512 + 192  = 712 bytes  -> 11 nodes per 8 KB page
//   128-d, level 1:   712 + 96       = 808 bytes
//   1536-d, level 0:  8 + 6144 + 192 = 6344 bytes -> 1 node per page
// With quantization the vector takes less room: 784-d is 1568 + 8 bytes as
// f16/bf16, 784 + 16 as i8 and 98 + 16 (rounded to 116) as bit. The largest
// code that fits is limited by the level-0 node alone (MaxCodeWordsForM: 1988
// words at m = 16; MaxKeyDims in keys.cpp turns words into each format's
// dimension limit); a node drawn a level too high for the
// page is given the highest level that fits (MaxLevelForCode), which only
// flattens the top of the hierarchy, never breaks it.
#ifndef VECANN_HNSW_LAYOUT_H_
#define VECANN_HNSW_LAYOUT_H_

#include "pg/pg_headers.h"

extern "C" {
#include "storage/bufpage.h"
#include "storage/itemptr.h"
}

#include "am/keys.h"
#include "core/hnsw_types.h"

namespace vecann::hnsw {

using am::KeyType;
using am::Metric;
using am::WordBytes;

constexpr uint32 kMagic = 0x56414E4E;  // "VANN"
// Format 2 added the metapage checksum; format 1 indexes (no checksum) are
// read as before, and keep their format.
constexpr uint32 kFormatVersion = 2;
constexpr uint32 kOldestFormatVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
// The page number of the heavyweight lock (LockPage: a lock tag, not a
// buffer lock) that inserts hold in share mode while they link a node, and
// VACUUM takes exclusively to wait for them (insert.cpp, vacuum.cpp).
constexpr BlockNumber kInsertLock = kMetaBlock;

// Page types, kept in the special space.
constexpr uint16 kPageMeta = 0xA701;
constexpr uint16 kPageNodes = 0xA702;

struct PageOpaque {
  uint16 page_type;
  uint16 unused;
};

struct HnswMetaData {
  uint32 magic;
  uint32 version;
  uint16 code_words;  // 4-byte words per stored code (= dimensions for float32)
  uint8 metric;   // Metric
  uint8 storage;  // kernels::CodeFormat of the stored vectors (1 = float32,
                  // the only one before quantization existed)
  uint16 m;
  uint16 ef_construction;
  ItemPointerData entry;  // entry point node, invalid when the index is empty
  int16 entry_level;      // its level, -1 when empty
  uint16 max_level;       // highest level a node of this index may have
  uint8 key_type;         // KeyType
  uint8 unused;
  uint32 key_dims;        // dimensions (bits for bit) of the key; 0 in older
                          // metapages, where it equals code_words
  uint32 checksum;        // CRC-32C of the fields above (format 2 on; see SealMeta)
};
static_assert(offsetof(HnswMetaData, checksum) == 32, "the checksum covers 32 bytes without padding");

// Sets the checksum of a metapage after any change to it (format 2 on).
void SealMeta(HnswMetaData* meta);
// Whether a metapage's checksum matches its fields (always, for format 1).
bool MetaChecksumOk(const HnswMetaData* meta);

constexpr uint8 kNodeDeleted = 0x01;

struct NodeHeader {
  ItemPointerData heap_tid;
  uint8 level;
  uint8 flags;
  // the code (code_words words), then neighbour slots (see the file comment)
};
static_assert(sizeof(NodeHeader) == 8, "node header must be 8 bytes");

// Neighbour slots of a node of `level`: 2m + level*m.
inline int NodeSlots(int m, int level) { return 2 * m + level * m; }

// First slot of `level`'s neighbour list (its length is core::MaxLinks).
inline int LevelSlotStart(int m, int level) { return level == 0 ? 0 : 2 * m + (level - 1) * m; }

inline size_t NodeTupleSize(int code_words, int m, int level) {
  return sizeof(NodeHeader) + WordBytes(code_words) + sizeof(ItemPointerData) * static_cast<size_t>(NodeSlots(m, level));
}

inline float* NodeCode(NodeHeader* n) { return reinterpret_cast<float*>(reinterpret_cast<char*>(n) + sizeof(NodeHeader)); }
inline const float* NodeCode(const NodeHeader* n) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(n) + sizeof(NodeHeader));
}
inline ItemPointerData* NodeSlotsPtr(NodeHeader* n, int code_words) {
  return reinterpret_cast<ItemPointerData*>(reinterpret_cast<char*>(n) + sizeof(NodeHeader) + WordBytes(code_words));
}
inline const ItemPointerData* NodeSlotsPtr(const NodeHeader* n, int code_words) {
  return reinterpret_cast<const ItemPointerData*>(reinterpret_cast<const char*>(n) + sizeof(NodeHeader) +
                                                  WordBytes(code_words));
}

// Bytes a node page offers to items (each item also costs an ItemIdData).
inline size_t NodePageCapacity() {
  return BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(PageOpaque));
}

inline bool NodeFits(int code_words, int m, int level) {
  return MAXALIGN(NodeTupleSize(code_words, m, level)) + sizeof(ItemIdData) <= NodePageCapacity();
}

// Largest number of 4-byte words of a code whose level-0 node fits a page at this m.
inline int MaxCodeWordsForM(int m) {
  size_t item_room = (NodePageCapacity() - sizeof(ItemIdData)) & ~static_cast<size_t>(MAXIMUM_ALIGNOF - 1);
  size_t fixed = sizeof(NodeHeader) + sizeof(ItemPointerData) * static_cast<size_t>(2 * m);
  return item_room > fixed ? static_cast<int>((item_room - fixed) / sizeof(float)) : 0;
}

// Highest level a node can have and still fit a page (capped by the core's).
int MaxLevelForCode(int code_words, int m);

inline PageOpaque* GetOpaque(Page page) { return reinterpret_cast<PageOpaque*>(PageGetSpecialPointer(page)); }

inline HnswMetaData* GetMeta(Page page) { return reinterpret_cast<HnswMetaData*>(PageGetContents(page)); }

// Initializes an empty page of the given type.
void InitPage(Page page, uint16 page_type);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_LAYOUT_H_
