// HNSW neighbour selection heuristic (Malkov & Yashunin, Algorithm 4, with
// keepPrunedConnections and without extendCandidates), its incremental form
// for adding one link to a list, and a small candidate sort. Header-only and
// allocation-free: every local is trivially destructible and nothing throws
// (as long as the caller's pair_distance does not), so the Postgres glue may
// call it from frames that can longjmp. The in-memory build and the on-disk
// insert/vacuum use this same code.
#ifndef VECANN_CORE_SELECT_NEIGHBORS_H_
#define VECANN_CORE_SELECT_NEIGHBORS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/hnsw_types.h"

namespace vecann::core {

// Sorts a Candidate array nearest first (ties by id). Insertion sort for short
// arrays, heap sort on the raw array otherwise; in place, no allocation.
inline void SortCandidates(Candidate* a, size_t n) noexcept {
  if (n > 64) {
    std::make_heap(a, a + n, CandidateLess());
    std::sort_heap(a, a + n, CandidateLess());
    return;
  }
  for (size_t i = 1; i < n; ++i) {
    const Candidate x = a[i];
    size_t j = i;
    while (j > 0 && CandidateLess()(x, a[j - 1])) {
      a[j] = a[j - 1];
      --j;
    }
    a[j] = x;
  }
}

// Chooses up to max_out neighbours for a base element among `candidates`.
//
//   candidates      sorted nearest first by distance to the base element (use
//                   SortCandidates); ids unique; the base element itself must
//                   not be among them.
//   pair_distance   callable (uint32_t a_id, uint32_t b_id) -> float, the
//                   distance between two candidates (same metric as above).
//   out             caller array with room for max_out entries; must not
//                   overlap `candidates`.
//   kept_out        optional (may be null), room for max_out entries: gets 1
//                   for each output entry that pass 1 kept, 0 for one that
//                   pass 2 added back. This is the state AddNeighbor needs.
//
// Pass 1 keeps a candidate c when it is closer to the base than to every
// neighbour kept so far (c.distance < pair_distance(c, r) for all kept r), so a
// candidate "shadowed" by a closer kept one is pruned; this spreads links over
// directions. Pass 2 (keep_pruned) fills the slots still free with the pruned
// candidates, nearest first. Returns how many entries were written; `out` is
// in candidate order, i.e. nearest first.
template <typename PairDistance>
inline size_t SelectNeighbors(const Candidate* candidates, size_t num_candidates,
                              PairDistance&& pair_distance, size_t max_out, Candidate* out,
                              bool keep_pruned = true, uint8_t* kept_out = nullptr) {
  if (max_out == 0 || num_candidates == 0) return 0;
  if (keep_pruned && kept_out == nullptr && num_candidates <= max_out) {
    // Everything fits and nobody asked which ones pass 1 keeps: skip it.
    std::copy(candidates, candidates + num_candidates, out);
    return num_candidates;
  }

  // Pass 1; the kept candidates go to out[0 .. kept).
  size_t kept = 0;
  for (size_t i = 0; i < num_candidates && kept < max_out; ++i) {
    const Candidate c = candidates[i];
    bool good = true;
    for (size_t r = 0; r < kept; ++r) {
      if (!(c.distance < pair_distance(c.id, out[r].id))) {
        good = false;
        break;
      }
    }
    if (good) out[kept++] = c;
  }
  if (!keep_pruned || kept == max_out || kept == num_candidates) {
    if (kept_out != nullptr) std::fill(kept_out, kept_out + kept, uint8_t{1});
    return kept;
  }

  // Pass 2. Every candidate was examined (pass 1 stops early only when full)
  // so the kept ones are a subsequence of `candidates`, and the first `fill`
  // pruned ones join them. Merge from the back, in place: the write position
  // never falls behind the next kept entry still to be read.
  const size_t pruned = num_candidates - kept;
  const size_t fill = std::min(max_out - kept, pruned);
  const size_t total = kept + fill;
  size_t w = total;
  size_t k = kept;       // kept entries not yet placed: out[0 .. k)
  size_t rank = pruned;  // forward rank of the next pruned one met (+1)
  for (size_t i = num_candidates; i-- > 0 && w > 0;) {
    const Candidate c = candidates[i];
    if (k > 0 && out[k - 1].id == c.id) {
      --k;
      out[--w] = c;
      if (kept_out != nullptr) kept_out[w] = 1;
    } else if (--rank < fill) {
      out[--w] = c;
      if (kept_out != nullptr) kept_out[w] = 0;
    }
  }
  return total;
}

// Adds candidate c to a neighbour list kept by the heuristic, using what the
// list remembers from its last selection, so that usually only a few pair
// distances are needed. The result is exactly what SelectNeighbors(list + c,
// sorted, max_out, keep_pruned = true, kept) would produce.
//
//   list[0 .. count)   the neighbours, nearest first (by distance to the
//                      list's owner), as SelectNeighbors or AddNeighbor left
//                      them; count <= max_out; c.id not among them.
//   kept[0 .. count)   1 if pass 1 keeps the entry, 0 if it was pruned.
//   Both arrays need room for max_out + 1 entries (c goes in before the
//   farthest pruned entry is dropped).
//
// Returns the new count: count + 1 while there is room, else max_out (one
// entry dropped: the farthest pruned one, or the farthest when none is).
template <typename PairDistance>
inline size_t AddNeighbor(Candidate* list, uint8_t* kept, size_t count, size_t max_out, Candidate c,
                          PairDistance&& pair_distance) {
  if (max_out == 0) return 0;
  // Insert c at its place.
  size_t p = count;
  while (p > 0 && CandidateLess()(c, list[p - 1])) {
    list[p] = list[p - 1];
    kept[p] = kept[p - 1];
    --p;
  }
  list[p] = c;
  const size_t n = count + 1;

  // Redo pass 1 from p on. Entries before p are unaffected. Flags while at it:
  // bit 0 = kept now, bit 1 = was kept before c arrived. An entry kept before
  // can only lose its place to an entry newly kept (c, or one that became kept);
  // an entry pruned before stays pruned unless some kept entry was removed.
  bool good = true;
  for (size_t r = 0; r < p && good; ++r) {
    if ((kept[r] & 1) && !(c.distance < pair_distance(c.id, list[r].id))) good = false;
  }
  kept[p] = good ? 1 : 0;  // bit 1 clear: c is "new"
  bool removed_any = false;
  for (size_t i = p + 1; i < n; ++i) {
    const Candidate e = list[i];
    const bool was = (kept[i] & 1) != 0;
    bool now = false;
    if (was) {
      now = true;
      for (size_t j = p; j < i && now; ++j) {
        if ((kept[j] & 3) == 1 && !(e.distance < pair_distance(e.id, list[j].id))) now = false;
      }
      if (!now) removed_any = true;
    } else if (removed_any) {
      now = true;
      for (size_t j = 0; j < i && now; ++j) {
        if ((kept[j] & 1) && !(e.distance < pair_distance(e.id, list[j].id))) now = false;
      }
    }
    kept[i] = static_cast<uint8_t>((now ? 1 : 0) | (was ? 2 : 0));
  }
  for (size_t i = p + 1; i < n; ++i) kept[i] &= 1;
  if (n <= max_out) return n;

  // One too many: drop the farthest pruned entry, or the farthest if all are
  // kept (pass 1 would have stopped before it). Removing it changes no other
  // entry's pass-1 fate, so the flags stay valid.
  size_t drop = n - 1;
  for (size_t i = n; i-- > 0;) {
    if ((kept[i] & 1) == 0) {
      drop = i;
      break;
    }
  }
  for (size_t i = drop; i + 1 < n; ++i) {
    list[i] = list[i + 1];
    kept[i] = kept[i + 1];
  }
  return max_out;
}

}  // namespace vecann::core

#endif  // VECANN_CORE_SELECT_NEIGHBORS_H_
