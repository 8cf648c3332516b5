// Includes the Postgres headers every glue file needs, with C linkage, and
// undoes the few macros of theirs that collide with C++ standard headers.
// Only glue code (src/pg, src/type, src/am, src/hnsw, src/ivfflat) includes this file.
#ifndef VECANN_PG_PG_HEADERS_H_
#define VECANN_PG_PG_HEADERS_H_

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
}

#include "pg/compat.h"

#endif  // VECANN_PG_PG_HEADERS_H_
