// What vecann's two access methods (hnsw, ivfflat) have in common towards
// PostgreSQL: an IndexAmRoutine for an index that answers ORDER BY a distance
// operator on one key column, and the scan bookkeeping that goes with it.
#ifndef VECANN_AM_ROUTINE_H_
#define VECANN_AM_ROUTINE_H_

#include "pg/pg_headers.h"

extern "C" {
#include "access/amapi.h"
#include "access/relscan.h"
}

namespace vecann::am {

// A routine with the capabilities both share (ordered by an operator, one
// column, support functions 1 distance and 2 norm, no bitmap, no parallel
// scan, parallel bulk delete) and no callbacks: the caller sets those.
IndexAmRoutine* NewOrderedRoutine();

// Allocates the ORDER BY values the executor reads from a scan (the access
// method owns them), as NULLs.
void InitOrderByValues(IndexScanDesc scan, int norderbys);

// What every amgettuple call checks first: an ORDER BY distance to serve and
// a forward scan (errors naming the access method `am` otherwise); clears
// the recheck flags.
void BeginGetTuple(IndexScanDesc scan, ScanDirection dir, const char* am);

// Copies a rescan's keys and ORDER BY keys into the scan.
void CopyScanKeys(IndexScanDesc scan, ScanKey keys, ScanKey orderbys);

}  // namespace vecann::am

#endif  // VECANN_AM_ROUTINE_H_
