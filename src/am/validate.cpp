// amvalidate: checks that an operator class of vecann's access methods has
// what the index needs (an ORDER BY operator returning float8 at strategy 1,
// the distance function 1 and the optional norm function 2 with the right
// signatures), reporting every problem found, as Postgres' own AMs do.
#include "am/validate.h"

extern "C" {
#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "utils/catcache.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
}

namespace vecann::am {

bool ValidateOpclass(Oid opclass_oid, const char* am) {
  bool ok = true;
  HeapTuple classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass_oid));
  if (!HeapTupleIsValid(classtup)) elog(ERROR, "cache lookup failed for operator class %u", opclass_oid);
  auto* classform = reinterpret_cast<Form_pg_opclass>(GETSTRUCT(classtup));
  Oid family = classform->opcfamily;
  Oid intype = classform->opcintype;
  char* name = pstrdup(NameStr(classform->opcname));
  ReleaseSysCache(classtup);

  bool has_distance = false;
  CatCList* procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(family));
  for (int i = 0; i < procs->n_members; ++i) {
    auto* proc = reinterpret_cast<Form_pg_amproc>(GETSTRUCT(&procs->members[i]->tuple));
    if (proc->amproclefttype != intype || proc->amprocrighttype != intype) continue;
    bool sig_ok;
    switch (proc->amprocnum) {
      case 1:
        sig_ok = check_amproc_signature(proc->amproc, FLOAT8OID, true, 2, 2, intype, intype);
        has_distance = true;
        break;
      case 2:
        sig_ok = check_amproc_signature(proc->amproc, FLOAT8OID, true, 1, 1, intype);
        break;
      default:
        ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                       errmsg("%s operator class \"%s\" has invalid support function number %d", am, name,
                              proc->amprocnum)));
        ok = false;
        continue;
    }
    if (!sig_ok) {
      ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                     errmsg("%s operator class \"%s\" has support function %s with the wrong signature for number %d",
                            am, name, format_procedure(proc->amproc), proc->amprocnum)));
      ok = false;
    }
  }
  ReleaseSysCacheList(procs);
  if (!has_distance) {
    ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                   errmsg("%s operator class \"%s\" lacks distance support function 1", am, name)));
    ok = false;
  }

  bool has_order = false;
  CatCList* ops = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(family));
  for (int i = 0; i < ops->n_members; ++i) {
    auto* op = reinterpret_cast<Form_pg_amop>(GETSTRUCT(&ops->members[i]->tuple));
    if (op->amoplefttype != intype) continue;
    if (op->amopstrategy != 1 || op->amoppurpose != AMOP_ORDER || op->amopsortfamily == InvalidOid ||
        !check_amop_signature(op->amopopr, FLOAT8OID, op->amoplefttype, op->amoprighttype)) {
      ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                     errmsg("%s operator class \"%s\" has operator %s, but only an ORDER BY operator returning "
                            "float8 at strategy 1 is supported",
                            am, name, format_operator(op->amopopr))));
      ok = false;
      continue;
    }
    has_order = true;
  }
  ReleaseSysCacheList(ops);
  if (!has_order) {
    ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                   errmsg("%s operator class \"%s\" lacks an ORDER BY operator at strategy 1", am, name)));
    ok = false;
  }
  return ok;
}

}  // namespace vecann::am
