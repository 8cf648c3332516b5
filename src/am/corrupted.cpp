// The one error an index reports for anything on its pages it cannot have.
#include <cstdarg>
#include <cstdio>

#include "am/corrupted.h"

namespace vecann::am {

void ReportCorrupted(Relation index, const char* what, const char* detail_fmt, ...) {
  char detail[256];
  va_list args;
  va_start(args, detail_fmt);
  vsnprintf(detail, sizeof detail, detail_fmt, args);
  va_end(args);
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("index \"%s\" contains corrupted %s", RelationGetRelationName(index), what),
                  errdetail_internal("%s", detail), errhint("REINDEX the index.")));
  pg_unreachable();
}

}  // namespace vecann::am
