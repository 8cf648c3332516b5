// Limits of the vector type shared by the codecs and the Postgres glue.
#ifndef VECANN_CODEC_VECTOR_LIMITS_H_
#define VECANN_CODEC_VECTOR_LIMITS_H_

namespace vecann::codec {

// Largest number of dimensions a `vector` may have (same as pgvector).
constexpr int kMaxDims = 16000;

}  // namespace vecann::codec

#endif  // VECANN_CODEC_VECTOR_LIMITS_H_
