// The index's run-time settings (GUCs): vecann's own names under the reserved
// `vecann.` prefix, and pgvector's names for the same settings under `hnsw.`,
// so that an application written for pgvector (`SET LOCAL hnsw.ef_search =
// 100`) acts on vecann's indexes instead of setting a placeholder nobody reads.
//
// Two names, one setting. PostgreSQL has no aliases for an extension's
// settings, so `vecann.ef_search` and `hnsw.ef_search` are two GUCs, and the
// one in force is the one set last, ranked first by where the value comes
// from (PostgreSQL's own precedence: a SET over a role's or database's
// setting over postgresql.conf over the default), then by when. Each value
// carries a stamp (source, sequence number) made by the check hook when it is
// set; PostgreSQL hands a value's stamp back with the value when it restores
// it (the end of a SET LOCAL or of a function's SET clause, RESET, an aborted
// transaction), so a restored value ranks as when it was set and defaults
// rank last. SHOW under either name shows the value in force.
// Two cases lose the order of values set from the same source: values set in
// a session before vecann's library is loaded there (PostgreSQL re-applies
// them when the library defines the names: hnsw.* then ranks last), and
// parallel workers (which re-apply the leader's settings in an order of
// their own; an index scan may run in one as the inner side of a join).
// Both need the two names set, at one level, to different values.
//
// When another library (pgvector's, loaded into the same backend first)
// already defines an `hnsw.` name, that name is its: vecann leaves it alone
// and reads only its own name for that setting.
#include <cstdio>

#include "am/settings.h"
#include "hnsw/hnsw.h"
#include "pg/compat.h"

extern "C" {
#include "miscadmin.h"
#include "utils/guc.h"
}

namespace vecann::hnsw {

int rerank_candidates = 100;

namespace {

int build_threads = -1;

// Where a setting's value came from, for "the one set last".
struct Stamp {
  int source;      // GucSource: PostgreSQL's precedence of where it was set
  uint64 order;    // sequence number of the assignment; 0 for a default
};
uint64 assignments = 0;

bool Later(const Stamp& a, const Stamp& b) {
  return a.source != b.source ? a.source > b.source : a.order > b.order;
}

// One integer setting under vecann's name (0) and pgvector's (1).
struct TwoNames {
  int value[2];
  Stamp stamp[2];
  int Current() const { return Later(stamp[1], stamp[0]) ? value[1] : value[0]; }
};

TwoNames ef_search_setting = {{40, 40}, {}};
TwoNames max_scan_tuples_setting = {{20000, 20000}, {}};

bool CheckStamped(int*, void** extra, GucSource source) {
  auto* stamp = static_cast<Stamp*>(pg::GucExtraAlloc(sizeof(Stamp)));
  if (stamp == nullptr) return false;
  stamp->source = source;
  stamp->order = source == PGC_S_DEFAULT ? 0 : ++assignments;
  *extra = stamp;
  return true;
}

template <TwoNames* S, int kName>
void AssignStamped(int, void* extra) {
  S->stamp[kName] = extra ? *static_cast<const Stamp*>(extra) : Stamp{PGC_S_DEFAULT, 0};
}

template <TwoNames* S>
const char* ShowCurrent() {
  static char text[16];
  snprintf(text, sizeof(text), "%d", S->Current());
  return text;
}

// Whether a library loaded before vecann defines the setting `name` (a
// placeholder left by a SET before any library defined it is no one's).
bool OwnedElsewhere(const char* name) {
  return GetConfigOption(name, true, false) != nullptr && (GetConfigOptionFlags(name, true) & GUC_CUSTOM_PLACEHOLDER) == 0;
}

// Defines one integer setting under both names (pgvector's only if no other
// library owns it).
template <TwoNames* S>
void DefineTwoNames(const char* vecann_name, const char* pgvector_name, const char* short_desc,
                    const char* long_desc, int boot, int min, int max) {
  DefineCustomIntVariable(vecann_name, short_desc, long_desc, &S->value[0], boot, min, max, PGC_USERSET, 0,
                          CheckStamped, AssignStamped<S, 0>, ShowCurrent<S>);
  if (OwnedElsewhere(pgvector_name)) return;
  DefineCustomIntVariable(pgvector_name, short_desc, long_desc, &S->value[1], boot, min, max, PGC_USERSET, 0,
                          CheckStamped, AssignStamped<S, 1>, ShowCurrent<S>);
}

// hnsw.iterative_scan: pgvector's values; see DefineSettings.
constexpr int kOff = 0, kRelaxedOrder = 1, kStrictOrder = 2;
int iterative_scan = kOff;
const config_enum_entry kIterativeScanValues[] = {{"off", kOff, false},
                                                  {"relaxed_order", kRelaxedOrder, false},
                                                  {"strict_order", kStrictOrder, false},
                                                  {nullptr, 0, false}};

double scan_mem_multiplier = 1.0;

}  // namespace

int EfSearch() { return ef_search_setting.Current(); }
int MaxScanTuples() { return max_scan_tuples_setting.Current(); }
double ScanMemMultiplier() { return scan_mem_multiplier; }
bool RelaxedOrder() { return iterative_scan == kRelaxedOrder; }

}  // namespace vecann::hnsw

namespace vecann::am {

int BuildThreads() {
  int threads =
      hnsw::build_threads > 0 ? hnsw::build_threads : Min(max_parallel_maintenance_workers, max_worker_processes) + 1;
  return threads < 1 ? 1 : threads;
}

}  // namespace vecann::am

namespace vecann::hnsw {

void DefineSettings() {
  DefineTwoNames<&ef_search_setting>("vecann.ef_search", "hnsw.ef_search",
                                     "Size of the candidate list of an HNSW index scan.",
                                     "Larger values find the true nearest neighbours more often (recall) at the "
                                     "cost of speed. vecann.ef_search and hnsw.ef_search are one setting: the one "
                                     "set last is in force.",
                                     40, 1, 1000);
  DefineTwoNames<&max_scan_tuples_setting>(
      "vecann.max_scan_tuples", "hnsw.max_scan_tuples",
      "Most index nodes one HNSW scan's graph search visits when a query needs more rows than "
      "vecann.ef_search gives (a large LIMIT or a selective WHERE).",
      "Past it the scan reads the rest of the index in distance order, so it never returns fewer rows than asked "
      "for. vecann.max_scan_tuples and hnsw.max_scan_tuples are one setting: the one set last is in force.",
      20000, 1, INT_MAX);
  // pgvector's iterative-scan mode. vecann's scans always go on past
  // ef_search when a query needs more rows (pgvector's off stops there and
  // returns too few rows), so off behaves as strict_order: rows in distance
  // order, a row found after a farther one was returned is skipped.
  // relaxed_order returns such rows too, out of order, as pgvector does.
  if (!OwnedElsewhere("hnsw.iterative_scan")) {
    DefineCustomEnumVariable("hnsw.iterative_scan",
                             "Order of the rows an HNSW scan finds after its first candidate list.",
                             "strict_order (and off: vecann's scans always go on) returns rows in distance order; "
                             "relaxed_order also returns rows found late, out of order.",
                             &iterative_scan, kOff, kIterativeScanValues, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  }
  if (!OwnedElsewhere("hnsw.scan_mem_multiplier")) {
    DefineCustomRealVariable("hnsw.scan_mem_multiplier",
                             "Memory an HNSW scan's graph search may use, as a multiple of work_mem (at least 8 MB).",
                             "Past it (or past hnsw.max_scan_tuples visits) the scan reads the rest of the index in "
                             "distance order.",
                             &scan_mem_multiplier, 1, 1, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  }
  // Threads are a server resource: only a superuser (or postgresql.conf)
  // sets their number; the default follows settings every role may raise,
  // so Build() caps it by max_worker_processes, which only the server's
  // configuration sets.
  DefineCustomIntVariable("vecann.build_threads", "Threads that build an index in memory (an HNSW graph, ivfflat's k-means).",
                          "-1 uses max_parallel_maintenance_workers + 1, at most max_worker_processes + 1.",
                          &build_threads, -1, -1, 64, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("vecann.rerank_candidates",
                          "Candidates an HNSW scan of a quantization = 'bit' index orders by their true "
                          "distance, per batch.",
                          "Each batch of such a scan takes max(vecann.ef_search, this) candidates from the "
                          "graph and reads their full-precision vectors from the table.",
                          &rerank_candidates, 100, 1, 10000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("vecann");
  MarkGUCPrefixReserved("hnsw");
}

}  // namespace vecann::hnsw
