// The ivfflat access method's handler (the IndexAmRoutine Postgres calls
// through) and its index options, lists and quantization.
#include "am/routine.h"
#include "am/validate.h"
#include "ivfflat/ivfflat.h"
#include "pg/guard.h"

extern "C" {
#include "access/reloptions.h"
#include "commands/progress.h"
}

namespace vecann::ivfflat {

static relopt_kind options_kind;

static void ValidateQuantization(const char* value) {
  kernels::CodeFormat format;
  if (value != nullptr && (!kernels::CodeFormatFromName(value, &format) || format == kernels::CodeFormat::kBit)) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("invalid value for ivfflat option \"quantization\": \"%s\"", value),
                    errdetail("Valid values are \"f32\", \"f16\", \"bf16\" and \"i8\".")));
  }
}

void RegisterOptions() {
  options_kind = add_reloption_kind();
  add_int_reloption(options_kind, "lists", "Number of inverted lists (k-means centroids).", kDefaultLists, kMinLists,
                    kMaxLists, AccessExclusiveLock);
  add_string_reloption(options_kind, "quantization", "How the index stores vectors: f32, f16, bf16 or i8.", nullptr,
                       ValidateQuantization, AccessExclusiveLock);
}

bytea* ParseOptions(Datum reloptions, bool validate) {
  static const relopt_parse_elt table[] = {
      {"lists", RELOPT_TYPE_INT, offsetof(Options, lists)},
      {"quantization", RELOPT_TYPE_STRING, offsetof(Options, quantization)},
  };
  return reinterpret_cast<bytea*>(
      build_reloptions(reloptions, validate, options_kind, sizeof(Options), table, lengthof(table)));
}

int GetLists(Relation index) {
  auto* opts = reinterpret_cast<Options*>(index->rd_options);
  return opts ? opts->lists : kDefaultLists;
}

kernels::CodeFormat GetQuantization(Relation index) {
  auto* opts = reinterpret_cast<Options*>(index->rd_options);
  kernels::CodeFormat format = kernels::CodeFormat::kF32;
  if (opts && opts->quantization != 0) {
    const char* name = reinterpret_cast<const char*>(opts) + opts->quantization;
    ValidateQuantization(name);
    kernels::CodeFormatFromName(name, &format);
  }
  return format;
}

namespace {

bytea* AmOptions(Datum reloptions, bool validate) { return ParseOptions(reloptions, validate); }

bool AmValidate(Oid opclass_oid) { return am::ValidateOpclass(opclass_oid, "ivfflat"); }

char* AmBuildPhaseName(int64 phase) {
  switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
      return const_cast<char*>("initializing");
    case 2:
      return const_cast<char*>("performing k-means");
    case 3:
      return const_cast<char*>("assigning tuples");
    case 4:
      return const_cast<char*>("loading tuples");
    default:
      return nullptr;
  }
}

}  // namespace

}  // namespace vecann::ivfflat

// ivfflat_handler(internal) -> index_am_handler
VECANN_FUNCTION(ivfflat_handler) {
  using namespace vecann::ivfflat;
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
