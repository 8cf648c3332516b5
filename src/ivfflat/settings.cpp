// The ivfflat index's run-time settings, under pgvector's names in the
// reserved `ivfflat.` prefix, with pgvector's types, bounds and defaults:
//   ivfflat.probes          lists a scan reads first (the nearest centroids)
//   ivfflat.iterative_scan  off | relaxed_order
//   ivfflat.max_probes      most lists a scan reads when it goes on
// vecann's scans always go on past ivfflat.probes when a query needs more
// rows (a LIMIT above what the probed lists hold, or a WHERE that rejects
// rows), up to ivfflat.max_probes lists, where pgvector's `off` stops. Under
// `off` the rows found later come in distance order; one closer than a row
// the first lists returned is skipped (and, for inner product, which gives
// no bound, one closer than any row returned); `relaxed_order` returns it
// too, out of order, as pgvector does (see scan.cpp).
// As for hnsw.*, a name another library (pgvector's, loaded first) already
// defines is left to it.
#include "ivfflat/ivfflat.h"

extern "C" {
#include "utils/guc.h"
}

namespace vecann::ivfflat {
namespace {

int probes = 1;
int max_probes = kMaxLists;
constexpr int kOff = 0, kRelaxedOrder = 1;
int iterative_scan = kOff;
const config_enum_entry kIterativeScanValues[] = {
    {"off", kOff, false}, {"relaxed_order", kRelaxedOrder, false}, {nullptr, 0, false}};

bool OwnedElsewhere(const char* name) {
  return GetConfigOption(name, true, false) != nullptr &&
         (GetConfigOptionFlags(name, true) & GUC_CUSTOM_PLACEHOLDER) == 0;
}

}  // namespace

int Probes() { return probes; }
int MaxProbes() { return max_probes; }
bool RelaxedOrder() { return iterative_scan == kRelaxedOrder; }

void DefineSettings() {
  if (!OwnedElsewhere("ivfflat.probes")) {
    DefineCustomIntVariable("ivfflat.probes", "Lists an ivfflat index scan reads first.",
                            "Larger values find the true nearest neighbours more often (recall) at the cost of "
                            "speed.",
                            &probes, 1, kMinLists, kMaxLists, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  }
  if (!OwnedElsewhere("ivfflat.iterative_scan")) {
    DefineCustomEnumVariable("ivfflat.iterative_scan",
                             "Order of the rows an ivfflat scan finds after its first ivfflat.probes lists.",
                             "off (vecann's scans always go on) returns rows in distance order; relaxed_order "
                             "also returns rows found late, out of order.",
                             &iterative_scan, kOff, kIterativeScanValues, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  }
  if (!OwnedElsewhere("ivfflat.max_probes")) {
    DefineCustomIntVariable("ivfflat.max_probes", "Most lists an ivfflat index scan reads when it goes on.",
                            "A scan reads at least ivfflat.probes lists.", &max_probes, kMaxLists, kMinLists,
                            kMaxLists, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  }
  MarkGUCPrefixReserved("ivfflat");
}

}  // namespace vecann::ivfflat
