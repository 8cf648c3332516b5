// Distances on Postgres's own `bit` type (Hamming and Jaccard, by popcount
// through the SIMD kernels of src/kernels/bits.h), and binary quantization of
// vector and halfvec into bit strings.
#include "kernels/bits.h"
#include "pg/guard.h"
#include "type/halfvec.h"
#include "type/vector.h"

extern "C" {
#include "utils/varbit.h"
}

using vecann::type::HalfVector;
using vecann::type::Vector;

namespace {

struct BitPair {
  VarBit* a;
  VarBit* b;
};

BitPair GetPair(FunctionCallInfo fcinfo) {
  BitPair p{PG_GETARG_VARBIT_P(0), PG_GETARG_VARBIT_P(1)};
  if (VARBITLEN(p.a) != VARBITLEN(p.b)) {
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("different bit lengths %d and %d", VARBITLEN(p.a), VARBITLEN(p.b))));
  }
  return p;
}

// A zeroed bit string of n bits.
VarBit* NewBits(int n) {
  size_t size = VARBITTOTALLEN(n);
  auto* r = static_cast<VarBit*>(palloc0(size));
  SET_VARSIZE(r, size);
  VARBITLEN(r) = n;
  return r;
}

}  // namespace

// hamming_distance(bit, bit) -> float8: the number of differing bits.
VECANN_FUNCTION(hamming_distance) {
  BitPair p = GetPair(fcinfo);
  uint64_t count = vecann::kernels::BitKernels().hamming(VARBITS(p.a), VARBITS(p.b), VARBITBYTES(p.a));
  PG_RETURN_FLOAT8(static_cast<double>(count));
}

// jaccard_distance(bit, bit) -> float8: 1 - |a AND b| / |a OR b| (1 when no
// bit is set in both).
VECANN_FUNCTION(jaccard_distance) {
  BitPair p = GetPair(fcinfo);
  vecann::kernels::AndOrCounts c = vecann::kernels::BitKernels().and_or(VARBITS(p.a), VARBITS(p.b), VARBITBYTES(p.a));
  PG_RETURN_FLOAT8(vecann::kernels::JaccardDistance(c));
}

// binary_quantize(vector) -> bit: 1 where the value is > 0.
VECANN_FUNCTION(binary_quantize) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  VarBit* r = NewBits(v->dim);
  vecann::kernels::BinaryQuantize(v->x, static_cast<size_t>(v->dim), VARBITS(r));
  PG_RETURN_VARBIT_P(r);
}

// binary_quantize(halfvec) -> bit
VECANN_FUNCTION(halfvec_binary_quantize) {
  HalfVector* v = PG_GETARG_HALFVEC_P(0);
  VarBit* r = NewBits(v->dim);
  vecann::kernels::BinaryQuantizeHalf(v->x, static_cast<size_t>(v->dim), VARBITS(r));
  PG_RETURN_VARBIT_P(r);
}
