// amvalidate of vecann's access methods (hnsw, ivfflat), which take the
// same operator classes: an ORDER BY operator at strategy 1, the distance
// function 1 and the optional norm function 2 (normalize first, cosine).
#ifndef VECANN_AM_VALIDATE_H_
#define VECANN_AM_VALIDATE_H_

#include "pg/pg_headers.h"

namespace vecann::am {

// Reports each problem of the operator class as an INFO naming the access
// method `am`; true when there is none.
bool ValidateOpclass(Oid opclass_oid, const char* am);

}  // namespace vecann::am

#endif  // VECANN_AM_VALIDATE_H_
