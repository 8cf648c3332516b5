// A set of item pointers (open addressing, linear probing) in a memory
// context: the visited set of a graph search and the look-up tables of the
// index checker. Trivially destructible; grows by doubling.
#ifndef VECANN_HNSW_TID_SET_H_
#define VECANN_HNSW_TID_SET_H_

#include "pg/pg_headers.h"

extern "C" {
#include "storage/itemptr.h"
}

namespace vecann::hnsw {

struct TidSet {
  uint64* slots;  // 0 = empty; key = block << 16 | offset (offset >= 1, so never 0)
  uint32* values; // optional payload per key (nullptr when unused)
  uint32 capacity;  // power of two
  uint32 count;
  MemoryContext cxt;
};

inline uint64 TidKey(const ItemPointerData* tid) {
  return (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(tid)) << 16) | ItemPointerGetOffsetNumberNoCheck(tid);
}

void TidSetInit(TidSet* set, uint32 expected, bool with_values, MemoryContext cxt);
void TidSetClear(TidSet* set);
// Adds tid; returns false when it was already present.
bool TidSetAdd(TidSet* set, const ItemPointerData* tid, uint32 value = 0);
// Looks tid up; returns false when absent, else stores its value in *value.
bool TidSetFind(const TidSet* set, const ItemPointerData* tid, uint32* value = nullptr);

}  // namespace vecann::hnsw

#endif  // VECANN_HNSW_TID_SET_H_
