// Open-addressing item pointer set (see tid_set.h).
#include "hnsw/tid_set.h"

namespace vecann::hnsw {
namespace {

inline uint32 Hash(uint64 key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<uint32>(key);
}

void Allocate(TidSet* set, uint32 capacity, bool with_values) {
  set->capacity = capacity;
  set->count = 0;
  set->slots = static_cast<uint64*>(MemoryContextAllocHuge(set->cxt, sizeof(uint64) * capacity));
  memset(set->slots, 0, sizeof(uint64) * capacity);
  set->values = with_values ? static_cast<uint32*>(MemoryContextAllocHuge(set->cxt, sizeof(uint32) * capacity))
                            : nullptr;
}

void Grow(TidSet* set) {
  uint64* old_slots = set->slots;
  uint32* old_values = set->values;
  uint32 old_capacity = set->capacity;
  Allocate(set, old_capacity * 2, old_values != nullptr);
  for (uint32 i = 0; i < old_capacity; ++i) {
    if (old_slots[i] == 0) continue;
    uint32 mask = set->capacity - 1;
    uint32 j = Hash(old_slots[i]) & mask;
    while (set->slots[j] != 0) j = (j + 1) & mask;
    set->slots[j] = old_slots[i];
    if (old_values) set->values[j] = old_values[i];
    ++set->count;
  }
  pfree(old_slots);
  if (old_values) pfree(old_values);
}

}  // namespace

void TidSetInit(TidSet* set, uint32 expected, bool with_values, MemoryContext cxt) {
  uint32 capacity = 64;
  while (capacity < expected * 2 && capacity < (1u << 30)) capacity <<= 1;
  set->cxt = cxt;
  Allocate(set, capacity, with_values);
}

void TidSetClear(TidSet* set) {
  memset(set->slots, 0, sizeof(uint64) * set->capacity);
  set->count = 0;
}

bool TidSetAdd(TidSet* set, const ItemPointerData* tid, uint32 value) {
  if ((set->count + 1) * 2 > set->capacity) Grow(set);
  uint64 key = TidKey(tid);
  uint32 mask = set->capacity - 1;
  for (uint32 j = Hash(key) & mask;; j = (j + 1) & mask) {
    if (set->slots[j] == key) return false;
    if (set->slots[j] == 0) {
      set->slots[j] = key;
      if (set->values) set->values[j] = value;
      ++set->count;
      return true;
    }
  }
}

bool TidSetFind(const TidSet* set, const ItemPointerData* tid, uint32* value) {
  uint64 key = TidKey(tid);
  uint32 mask = set->capacity - 1;
  for (uint32 j = Hash(key) & mask;; j = (j + 1) & mask) {
    if (set->slots[j] == key) {
      if (value && set->values) *value = set->values[j];
      return true;
    }
    if (set->slots[j] == 0) return false;
  }
}

}  // namespace vecann::hnsw
