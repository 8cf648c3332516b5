// Reporting a corrupt index page (shared by vecann's access methods).
#ifndef VECANN_AM_CORRUPTED_H_
#define VECANN_AM_CORRUPTED_H_

#include "pg/pg_headers.h"

extern "C" {
#include "utils/rel.h"
}

namespace vecann::am {

// Raises ERRCODE_INDEX_CORRUPTED: `index "name" contains corrupted <what>`
// with the formatted detail and a hint to REINDEX.
[[noreturn]] void ReportCorrupted(Relation index, const char* what, const char* detail_fmt, ...)
    pg_attribute_printf(3, 4);

}  // namespace vecann::am

#endif  // VECANN_AM_CORRUPTED_H_
