// Minimal readers for the TEXMEX .fvecs / .ivecs formats used by tests and
// benchmarks: per row an int32 dimension followed by that many 4-byte values.
// Missing or malformed files give false (and empty output), never a crash.
#ifndef VECANN_TEST_UNIT_FVECS_H_
#define VECANN_TEST_UNIT_FVECS_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace vecann::test {

// Reads up to max_rows rows of 4-byte elements (float for .fvecs, int32 for
// .ivecs) into *data (row-major), setting *dim and *rows. All rows must have
// the same dimension.
template <typename T>
bool ReadVecs(const std::string& path, std::vector<T>* data, size_t* dim, size_t* rows,
              size_t max_rows = SIZE_MAX) {
  static_assert(sizeof(T) == 4, "fvecs/ivecs elements are 4 bytes");
  data->clear();
  *dim = 0;
  *rows = 0;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  bool ok = true;
  while (*rows < max_rows) {
    int32_t d = 0;
    const size_t got = std::fread(&d, sizeof(d), 1, f);
    if (got != 1) break;  // end of file
    if (d <= 0 || (*dim != 0 && static_cast<size_t>(d) != *dim)) {
      ok = false;
      break;
    }
    *dim = static_cast<size_t>(d);
    const size_t old = data->size();
    data->resize(old + *dim);
    if (std::fread(data->data() + old, sizeof(T), *dim, f) != *dim) {
      ok = false;
      break;
    }
    ++*rows;
  }
  std::fclose(f);
  if (!ok || *rows == 0) {
    data->clear();
    *dim = 0;
    *rows = 0;
    return false;
  }
  return true;
}

inline bool ReadFvecs(const std::string& path, std::vector<float>* data, size_t* dim, size_t* rows,
                      size_t max_rows = SIZE_MAX) {
  return ReadVecs<float>(path, data, dim, rows, max_rows);
}

inline bool ReadIvecs(const std::string& path, std::vector<int32_t>* data, size_t* dim,
                      size_t* rows, size_t max_rows = SIZE_MAX) {
  return ReadVecs<int32_t>(path, data, dim, rows, max_rows);
}

}  // namespace vecann::test

#endif  // VECANN_TEST_UNIT_FVECS_H_
