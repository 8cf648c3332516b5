// The IndexAmRoutine and scan bookkeeping shared by hnsw and ivfflat (routine.h).
#include "am/routine.h"

extern "C" {
#include "commands/vacuum.h"
}

namespace vecann::am {

IndexAmRoutine* NewOrderedRoutine() {
  IndexAmRoutine* am = makeNode(IndexAmRoutine);
  am->amstrategies = 0;
  am->amsupport = 2;  // 1: distance, 2: norm (normalize before indexing, for cosine)
  am->amoptsprocnum = 0;
  am->amcanorder = false;
  am->amcanorderbyop = true;
  am->amcanbackward = false;
  am->amcanunique = false;
  am->amcanmulticol = false;
  am->amoptionalkey = true;
  am->amsearcharray = false;
  am->amsearchnulls = false;
  am->amstorage = false;
  am->amclusterable = false;
  am->ampredlocks = false;
  am->amcanparallel = false;
  am->amcaninclude = false;
  am->amusemaintenanceworkmem = false;
  am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
  am->amkeytype = InvalidOid;
  // makeNode zeroed every callback: amcanreturn, amproperty, amadjustmembers,
  // amgetbitmap, ammarkpos, amrestrpos and the parallel-scan ones stay null.
  return am;
}

void InitOrderByValues(IndexScanDesc scan, int norderbys) {
  int n = norderbys > 0 ? norderbys : 1;
  scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * n));
  scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * n));
  memset(scan->xs_orderbynulls, true, sizeof(bool) * n);
}

void BeginGetTuple(IndexScanDesc scan, ScanDirection dir, const char* am) {
  if (scan->numberOfOrderBys == 0) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("an %s index can only be scanned with ORDER BY a distance operator", am)));
  }
  if (!ScanDirectionIsForward(dir)) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s index scans go forward only", am)));
  }
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
}

void CopyScanKeys(IndexScanDesc scan, ScanKey keys, ScanKey orderbys) {
  if (keys && scan->numberOfKeys > 0) memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0) {
    memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
  }
}

}  // namespace vecann::am
