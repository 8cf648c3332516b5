// Runtime dispatch shared by the Highway kernel files (distance.cpp, half.cpp,
// bits.cpp). Each file compiles its kernels for every attainable target and
// exports them with HWY_EXPORT; the helpers here map between a target and its
// slot in those HWY_EXPORT tables, so that each file can hand out a table of
// direct function pointers per target, chosen the way HWY_DYNAMIC_DISPATCH
// chooses. Include only inside `#if HWY_ONCE`, after hwy/highway.h, in a file
// that defined HWY_COMPILE_ALL_ATTAINABLE before any Highway header (so that
// every kernel file compiles the same set of targets).
#ifndef VECANN_KERNELS_DISPATCH_H_
#define VECANN_KERNELS_DISPATCH_H_

#ifndef HWY_COMPILE_ALL_ATTAINABLE
#error "kernel files define HWY_COMPILE_ALL_ATTAINABLE before including Highway"
#endif

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace vecann::kernels::dispatch {

// Slot of the EMU128/SCALAR fallback in the HWY_EXPORT tables: slot 0 is
// Highway's lazy initializer, 1..HWY_MAX_DYNAMIC_TARGETS the compiled targets
// (nullptr otherwise), the last one the fallback.
constexpr size_t kFallbackIndex = HWY_MAX_DYNAMIC_TARGETS + 1;

// The HWY_TARGETS bit of the fallback target compiled into every kernel file.
constexpr int64_t kFallbackTarget = (HWY_TARGETS & HWY_EMU128) ? HWY_EMU128 : HWY_SCALAR;

// Slot of a single HWY_TARGETS bit (the mapping ChosenTarget::GetIndex uses).
inline size_t IndexOfTarget(int64_t target) {
  if (target == HWY_EMU128 || target == HWY_SCALAR) return kFallbackIndex;
  const int64_t shifted = HWY_CHOSEN_TARGET_SHIFT(target);
  if (shifted == 0) return kFallbackIndex;
  return hwy::Num0BitsBelowLS1Bit_Nonzero64(static_cast<uint64_t>(shifted));
}

// Inverse of IndexOfTarget.
inline int64_t TargetOfIndex(size_t index) {
  if (index == 0 || index >= kFallbackIndex) return kFallbackTarget;
  return 1LL << (index - 1 + (HWY_HIGHEST_TARGET_BIT + 1 - HWY_MAX_DYNAMIC_TARGETS));
}

// Highway's name of the target in a slot, e.g. "AVX3".
inline const char* TargetNameOfIndex(size_t index) { return hwy::TargetName(TargetOfIndex(index)); }

// The slot HWY_DYNAMIC_DISPATCH would use on this CPU: initializes Highway's
// chosen-target mask (idempotent) and takes its index.
inline size_t BestIndex() {
  hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
  if (!chosen.IsInitialized()) chosen.Update(hwy::SupportedTargets());
  return chosen.GetIndex();
}

// Best table: table_at(index, &t) fills t and returns false when the file has
// no code for that slot; the fallback slot always has code.
template <class Table, class TableAt>
Table ResolveBest(TableAt table_at) {
  Table t{};
  if (table_at(BestIndex(), &t)) return t;
  table_at(kFallbackIndex, &t);
  return t;
}

// One table per compiled target this CPU can run, best first (the fallback
// last, or alone).
template <class Table, class TableAt>
std::vector<Table> AllRunnable(TableAt table_at) {
  std::vector<Table> tables;
  // Lowest bit first == best target first.
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    Table t{};
    if (table_at(IndexOfTarget(target), &t)) tables.push_back(t);
  }
  if (tables.empty()) {
    Table t{};
    table_at(kFallbackIndex, &t);
    tables.push_back(t);
  }
  return tables;
}

}  // namespace vecann::kernels::dispatch

#endif  // VECANN_KERNELS_DISPATCH_H_
