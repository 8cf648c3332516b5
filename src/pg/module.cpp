// The extension's entry point: module magic, _PG_init (index options, and
// settings under the reserved `vecann.`, `hnsw.` and `ivfflat.` prefixes) and the introspection function that names the
// SIMD target chosen at run time.
#include "hnsw/hnsw.h"
#include "ivfflat/ivfflat.h"
#include "kernels/distance.h"
#include "pg/compat.h"
#include "pg/guard.h"

extern "C" {
#include "utils/guc.h"

VECANN_MODULE_MAGIC;

void _PG_init(void);
}

void _PG_init(void) {
  vecann::hnsw::RegisterOptions();
  vecann::hnsw::DefineSettings();
  vecann::ivfflat::RegisterOptions();
  vecann::ivfflat::DefineSettings();
}

// vecann_simd_target() -> text, e.g. "AVX3"
VECANN_FUNCTION(vecann_simd_target) {
  PG_RETURN_TEXT_P(cstring_to_text(vecann::kernels::Kernels().target));
}
