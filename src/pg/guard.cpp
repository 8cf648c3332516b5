// Turns C++ exceptions into Postgres errors at the SQL-function boundary.
#include "pg/guard.h"

#include <exception>
#include <new>

namespace vecann::pg {

Datum CallGuarded(GuardedBody body, FunctionCallInfo fcinfo) {
  // Filled in the handlers; reported after the exception object is destroyed.
  char message[256];
  bool out_of_memory = false;
  try {
    return body(fcinfo);
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
  } catch (const std::exception& e) {
    strlcpy(message, e.what(), sizeof message);
  } catch (...) {
    strlcpy(message, "unknown C++ exception", sizeof message);
  }
  if (out_of_memory) {
    ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
  }
  ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("vecann internal error: %s", message)));
  pg_unreachable();
}

}  // namespace vecann::pg
