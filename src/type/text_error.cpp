// Type-modifier parsing shared by vector(n), halfvec(n) and sparsevec(n)
// (see text_error.h).
#include "type/text_error.h"

namespace vecann::type {

int32 DimensionsTypmod(ArrayType* modifiers, const char* type_name, int32 max_dims) {
  int n = 0;
  int32* tl = ArrayGetIntegerTypmods(modifiers, &n);
  if (n != 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid type modifier"),
                    errdetail("%s takes one modifier, its number of dimensions: %s(3).", type_name, type_name)));
  }
  if (*tl < 1) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type %s must be at least 1", type_name)));
  }
  if (*tl > max_dims) {
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("dimensions for type %s cannot exceed %d", type_name, max_dims)));
  }
  return *tl;
}

}  // namespace vecann::type
