// The one place where vecann's glue meets PostgreSQL's API differences
// between major versions (15, 16, 17, 18). Each shim names the version that
// changed the API; glue code uses the shim, never its own #if.
#ifndef VECANN_PG_COMPAT_H_
#define VECANN_PG_COMPAT_H_

extern "C" {
#include "postgres.h"

#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/rel.h"
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_class.h"
#include "varatt.h"  // 16 moved the varlena macros out of postgres.h
#endif
}

#if PG_VERSION_NUM < 150000
#error "vecann needs PostgreSQL 15 or newer"
#endif

namespace vecann::pg {

// 16 renamed RelFileNode (and Relation's rd_node) to RelFileLocator.
// (ReadRecentBuffer takes whichever this version has.)
#if PG_VERSION_NUM >= 160000
using RelFile = RelFileLocator;
inline const RelFile& RelationFile(Relation rel) { return rel->rd_locator; }
inline bool SameRelFile(const RelFile& a, const RelFile& b) { return RelFileLocatorEquals(a, b); }
#else
using RelFile = RelFileNode;
inline const RelFile& RelationFile(Relation rel) { return rel->rd_node; }
inline bool SameRelFile(const RelFile& a, const RelFile& b) { return RelFileNodeEquals(a, b); }
#endif
// The backend owning a temporary relation's buffers (BackendId until 16,
// ProcNumber from 17): only compared for equality.
using RelOwner = decltype(RelationData::rd_backend);

// 18 gave vacuum_delay_point() an is_analyze argument.
inline void VacuumDelayPoint() {
#if PG_VERSION_NUM >= 180000
  vacuum_delay_point(false);
#else
  vacuum_delay_point();
#endif
}

// 16 replaced pg_class_ownercheck() by object_ownercheck().
inline bool OwnsRelation(Oid relation, Oid role) {
#if PG_VERSION_NUM >= 160000
  return object_ownercheck(RelationRelationId, relation, role);
#else
  return pg_class_ownercheck(relation, role);
#endif
}

// 17 runs maintenance commands (and amcheck) with search_path restricted to
// pg_catalog, pg_temp; hnsw_check follows the server's rule for its version.
inline void RestrictSearchPathForMaintenance() {
#if PG_VERSION_NUM >= 170000
  RestrictSearchPath();
#endif
}

// A GUC check hook's "extra": malloc() until 15, guc_malloc() from 16 (which
// frees extras with pfree). Null when out of memory (the hook then fails).
inline void* GucExtraAlloc(size_t size) {
#if PG_VERSION_NUM >= 160000
  return guc_malloc(LOG, size);
#else
  return malloc(size);
#endif
}

}  // namespace vecann::pg

// 18 lets a module name itself and its version (shown by pg_get_loaded_modules()).
#ifndef VECANN_VERSION
#error "VECANN_VERSION (the extension's version string) is set by the Makefile"
#endif
#if PG_VERSION_NUM >= 180000
#define VECANN_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "vecann", .version = VECANN_VERSION)
#else
#define VECANN_MODULE_MAGIC PG_MODULE_MAGIC
#endif

#endif  // VECANN_PG_COMPAT_H_
