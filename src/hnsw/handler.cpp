// The HNSW access method's handler (the IndexAmRoutine Postgres calls through)
// and its index options, m, ef_construction and quantization.
#include "am/routine.h"
#include "am/validate.h"
#include "hnsw/hnsw.h"
#include "pg/guard.h"

extern "C" {
#include "access/reloptions.h"
#include "commands/progress.h"
}

namespace vecann::hnsw {

static relopt_kind options_kind;

// Rejects unknown quantization names when the option is set.
static void ValidateQuantization(const char* value) {
  kernels::CodeFormat format;
  if (value != nullptr && !kernels::CodeFormatFromName(value, &format)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for hnsw option \"quantization\": \"%s\"", value),
                    errdetail("Valid values are \"f32\", \"f16\", \"bf16\", \"i8\" and \"bit\".")));
  }
}

void RegisterOptions() {
  options_kind = add_reloption_kind();
  add_int_reloption(options_kind, "m", "Links per graph node (2*m on the bottom level).", kOptionDefaultM, kOptionMinM,
                    kOptionMaxM, AccessExclusiveLock);
  add_int_reloption(options_kind, "ef_construction", "Candidate list size while building the graph.",
                    kDefaultEfConstruction, kMinEfConstruction, kMaxEfConstruction, AccessExclusiveLock);
  add_string_reloption(options_kind, "quantization",
                       "How the index stores vectors: f32, f16, bf16, i8 or bit.", nullptr,
                       ValidateQuantization, AccessExclusiveLock);
}

bytea* ParseOptions(Datum reloptions, bool validate) {
  static const relopt_parse_elt table[] = {
      {"m", RELOPT_TYPE_INT, offsetof(Options, m)},
      {"ef_construction", RELOPT_TYPE_INT, offsetof(Options, ef_construction)},
      {"quantization", RELOPT_TYPE_STRING, offsetof(Options, quantization)},
  };
  auto* opts = static_cast<Options*>(
      build_reloptions(reloptions, validate, options_kind, sizeof(Options), table, lengthof(table)));
  // Checked here as well as at build time, so that CREATE INDEX CONCURRENTLY
  // fails before it makes a catalog entry (it would leave an invalid index).
  if (validate && opts != nullptr && opts->ef_construction < 2 * opts->m) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ef_construction must be at least 2 * m (%d), not %d", 2 * opts->m, opts->ef_construction)));
  }
  return reinterpret_cast<bytea*>(opts);
}

void GetBuildParams(Relation index, int* m, int* ef_construction) {
  auto* opts = reinterpret_cast<Options*>(index->rd_options);
  *m = opts ? opts->m : kOptionDefaultM;
  *ef_construction = opts ? opts->ef_construction : kDefaultEfConstruction;
  if (*ef_construction < 2 * *m) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("ef_construction must be at least 2 * m (%d), not %d", 2 * *m, *ef_construction)));
  }
}

kernels::CodeFormat GetQuantization(Relation index) {
  auto* opts = reinterpret_cast<Options*>(index->rd_options);
  kernels::CodeFormat format = kDefaultQuantization;
  if (opts && opts->quantization != 0) {
    const char* name = reinterpret_cast<const char*>(opts) + opts->quantization;
    ValidateQuantization(name);
    kernels::CodeFormatFromName(name, &format);
  }
  return format;
}

namespace {

// Exceptions never reach these: every C++ call below them is noexcept or
// caught where it is made (see pg/guard.h); they are plain C callbacks.
bytea* AmOptions(Datum reloptions, bool validate) { return ParseOptions(reloptions, validate); }

bool AmValidate(Oid opclass_oid) { return am::ValidateOpclass(opclass_oid, "hnsw"); }

char* AmBuildPhaseName(int64 phase) {
  switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
      return const_cast<char*>("initializing");
    case 2:
      return const_cast<char*>("loading tuples");
    case 3:
      return const_cast<char*>("building graph");
    case 4:
      return const_cast<char*>("writing pages");
    default:
      return nullptr;
  }
}

}  // namespace

}  // namespace vecann::hnsw

// hnsw_handler(internal) -> index_am_handler
VECANN_FUNCTION(hnsw_handler) {
  using namespace vecann::hnsw;
  IndexAmRoutine* routine = vecann::am::NewOrderedRoutine();
  routine->ambuild = Build;
  routine->ambuildempty = BuildEmpty;
  routine->aminsert = Insert;
  routine->ambulkdelete = BulkDelete;
  routine->amvacuumcleanup = VacuumCleanup;
  routine->amcostestimate = CostEstimate;
  routine->amoptions = AmOptions;
  routine->ambuildphasename = AmBuildPhaseName;
  routine->amvalidate = AmValidate;
  routine->ambeginscan = BeginScan;
  routine->amrescan = Rescan;
  routine->amgettuple = GetTuple;
  routine->amendscan = EndScan;
  PG_RETURN_POINTER(routine);
}
