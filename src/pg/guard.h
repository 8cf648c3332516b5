// The C++ / Postgres boundary (DESIGN.md, "The C++ / Postgres boundary").
//
// Every SQL-callable function is defined with VECANN_FUNCTION(name) { ... }.
// The body runs inside a try block; a C++ exception that reaches it is turned
// into an ereport(ERROR) raised only after the C++ frames are gone, so no
// exception ever crosses into Postgres. The body itself may ereport (longjmp)
// as long as it keeps to rule 2: no object with a non-trivial destructor alive
// in a frame that can reach ereport. Memory comes from palloc.
#ifndef VECANN_PG_GUARD_H_
#define VECANN_PG_GUARD_H_

#include "pg/pg_headers.h"

namespace vecann::pg {

using GuardedBody = Datum (*)(FunctionCallInfo fcinfo);

// Calls body(fcinfo); reports any C++ exception it throws as a Postgres error.
Datum CallGuarded(GuardedBody body, FunctionCallInfo fcinfo);

}  // namespace vecann::pg

#define VECANN_FUNCTION(name)                                         \
  extern "C" {                                                        \
  PG_FUNCTION_INFO_V1(name);                                          \
  }                                                                   \
  static Datum name##_body(FunctionCallInfo fcinfo);                  \
  extern "C" Datum name(PG_FUNCTION_ARGS) {                           \
    return vecann::pg::CallGuarded(name##_body, fcinfo);              \
  }                                                                   \
  static Datum name##_body(FunctionCallInfo fcinfo)

#endif  // VECANN_PG_GUARD_H_
