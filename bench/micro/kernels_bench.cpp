// Google Benchmark micro-benchmarks for the distance kernels (distance.h):
// every kernel at dims 96, 128, 768, 1536 for the dispatched best Highway
// target (and the other runnable targets), against a plain scalar float loop
// compiled without auto-vectorization and the double-precision reference
// (test/unit/kernels_reference.h), so the SIMD gain is visible. Time = ns per call;
// items/s = vector elements (dimensions) processed per second.
//
// Names: <kernel>/<impl>/<dim>, impl = "best:<TARGET>", "<TARGET>",
// "scalar_float" or "reference_double".
//
// Also the quantized-code kernels (quantize.h): a float32 query against an
// f16, bf16, i8 or bit code at dims 784 and 1536, for every runnable target.
// Names: code_<format>_<kernel>/<impl>/<dim>, impl = "best:<TARGET>" or
// "<TARGET>".
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "kernels/distance.h"
#include "kernels/quantize.h"
#include "kernels_reference.h"

namespace {

using vecann::kernels::DistanceFn;
using vecann::kernels::DotNorms;
using vecann::kernels::DotNormsFn;
using vecann::kernels::KernelTable;
namespace ref = vecann::kernels::reference;

// ---------------------------------------------------------------------------
// Plain float loops, one accumulator, kept scalar: GCC cannot vectorize these
// float reductions without -ffast-math anyway, and the attribute/pragma makes
// it explicit. noinline so every implementation pays the same call overhead.
#if defined(__clang__)
#define VECANN_SCALAR_FN __attribute__((noinline))
#define VECANN_SCALAR_LOOP _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(__GNUC__)
#define VECANN_SCALAR_FN __attribute__((noinline, optimize("no-tree-vectorize")))
#define VECANN_SCALAR_LOOP
#else
#define VECANN_SCALAR_FN
#define VECANN_SCALAR_LOOP
#endif

VECANN_SCALAR_FN float ScalarSquaredL2(const float* a, const float* b, size_t n) {
  float s = 0.0f;
  VECANN_SCALAR_LOOP
  for (size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

VECANN_SCALAR_FN float ScalarInnerProduct(const float* a, const float* b, size_t n) {
  float s = 0.0f;
  VECANN_SCALAR_LOOP
  for (size_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

VECANN_SCALAR_FN float ScalarNegInnerProduct(const float* a, const float* b, size_t n) {
  return -ScalarInnerProduct(a, b, n);
}

VECANN_SCALAR_FN float ScalarL1(const float* a, const float* b, size_t n) {
  float s = 0.0f;
  VECANN_SCALAR_LOOP
  for (size_t i = 0; i < n; ++i) {
    s += std::fabs(a[i] - b[i]);  // andps, branch-free
  }
  return s;
}

VECANN_SCALAR_FN DotNorms ScalarDotNorms(const float* a, const float* b, size_t n) {
  DotNorms r{0.0f, 0.0f, 0.0f};
  VECANN_SCALAR_LOOP
  for (size_t i = 0; i < n; ++i) {
    r.dot += a[i] * b[i];
    r.norm_a += a[i] * a[i];
    r.norm_b += b[i] * b[i];
  }
  return r;
}

// The double reference behind the kernels' signatures.
float RefSquaredL2(const float* a, const float* b, size_t n) {
  return static_cast<float>(ref::SquaredL2(a, b, n));
}
float RefInnerProduct(const float* a, const float* b, size_t n) {
  return static_cast<float>(ref::InnerProduct(a, b, n));
}
float RefNegInnerProduct(const float* a, const float* b, size_t n) {
  return static_cast<float>(-ref::InnerProduct(a, b, n));
}
float RefL1(const float* a, const float* b, size_t n) {
  return static_cast<float>(ref::L1(a, b, n));
}
DotNorms RefDotNorms(const float* a, const float* b, size_t n) {
  const ref::DotNormsResult r = ref::DotNorms(a, b, n);
  return DotNorms{static_cast<float>(r.dot), static_cast<float>(r.norm_a),
                  static_cast<float>(r.norm_b)};
}

// ---------------------------------------------------------------------------

constexpr int kDims[] = {96, 128, 768, 1536};

// Two random vectors of `dim` floats, 64-byte aligned (L1-resident).
struct Pair {
  explicit Pair(size_t dim) {
    const size_t bytes = ((dim * sizeof(float) + 63) / 64) * 64;
    a = static_cast<float*>(std::aligned_alloc(64, bytes));
    b = static_cast<float*>(std::aligned_alloc(64, bytes));
    std::mt19937 rng(static_cast<uint32_t>(dim));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (size_t i = 0; i < dim; ++i) {
      a[i] = u(rng);
      b[i] = u(rng);
    }
  }
  ~Pair() {
    std::free(a);
    std::free(b);
  }
  Pair(const Pair&) = delete;
  Pair& operator=(const Pair&) = delete;
  float* a;
  float* b;
};

void BenchDistance(benchmark::State& state, DistanceFn fn) {
  const size_t dim = static_cast<size_t>(state.range(0));
  Pair p(dim);
  const float* a = p.a;
  const float* b = p.b;
  for (auto _ : state) {
    // Opaque pointers (and a memory clobber): the call cannot be hoisted.
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(fn);
    float r = fn(a, b, dim);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(dim));
}

void BenchDotNorms(benchmark::State& state, DotNormsFn fn) {
  const size_t dim = static_cast<size_t>(state.range(0));
  Pair p(dim);
  const float* a = p.a;
  const float* b = p.b;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(b);
    benchmark::DoNotOptimize(fn);
    DotNorms r = fn(a, b, dim);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(dim));
}

void AddDims(benchmark::internal::Benchmark* bm) {
  for (int dim : kDims) bm->Arg(dim);
}

// All kernels of one implementation, named <kernel>/<impl>/<dim>.
void RegisterImpl(const std::string& impl, const KernelTable& k) {
  AddDims(benchmark::RegisterBenchmark(("squared_l2/" + impl).c_str(), BenchDistance,
                                       k.squared_l2));
  AddDims(benchmark::RegisterBenchmark(("inner_product/" + impl).c_str(), BenchDistance,
                                       k.inner_product));
  AddDims(benchmark::RegisterBenchmark(("neg_inner_product/" + impl).c_str(),
                                       BenchDistance, k.neg_inner_product));
  AddDims(benchmark::RegisterBenchmark(("l1/" + impl).c_str(), BenchDistance, k.l1));
  AddDims(benchmark::RegisterBenchmark(("dot_norms/" + impl).c_str(), BenchDotNorms,
                                       k.dot_norms));
}

void RegisterAll() {
  const KernelTable& best = vecann::kernels::Kernels();
  RegisterImpl(std::string("best:") + best.target, best);
  for (const KernelTable& t : vecann::kernels::AllRunnableTargets()) {
    if (t.squared_l2 == best.squared_l2) continue;  // already registered as best
    RegisterImpl(t.target, t);
  }
  const KernelTable scalar{ScalarSquaredL2, ScalarInnerProduct, ScalarNegInnerProduct,
                           ScalarL1,        ScalarDotNorms,     "scalar_float"};
  RegisterImpl("scalar_float", scalar);
  const KernelTable reference{RefSquaredL2, RefInnerProduct, RefNegInnerProduct,
                              RefL1,        RefDotNorms,     "reference_double"};
  RegisterImpl("reference_double", reference);
}

// ---------------------------------------------------------------------------
// Quantized codes.

using vecann::kernels::CodeFormat;
using vecann::kernels::CodeKernelTable;

constexpr int kCodeDims[] = {784, 1536};

// A random query and the code of another random vector (L1-resident).
struct QueryAndCode {
  QueryAndCode(CodeFormat format, size_t dim) : pair(dim) {
    code = static_cast<float*>(std::aligned_alloc(64, ((vecann::kernels::CodeBytes(format, dim) + 63) / 64) * 64));
    vecann::kernels::Encode(format, pair.b, dim, vecann::kernels::ErrorNorm::kL2, code);
  }
  ~QueryAndCode() { std::free(code); }
  QueryAndCode(const QueryAndCode&) = delete;
  QueryAndCode& operator=(const QueryAndCode&) = delete;
  Pair pair;
  float* code;
};

void BenchCode(benchmark::State& state, CodeFormat format, DistanceFn fn) {
  const size_t dim = static_cast<size_t>(state.range(0));
  QueryAndCode qc(format, dim);
  const float* q = qc.pair.a;
  const float* code = qc.code;
  for (auto _ : state) {
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(code);
    benchmark::DoNotOptimize(fn);
    float r = fn(q, code, dim);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(dim));
}

void RegisterCodeImpl(CodeFormat format, const std::string& impl, const CodeKernelTable& k) {
  const std::string prefix = std::string("code_") + vecann::kernels::CodeFormatName(format) + "_";
  const std::pair<const char*, DistanceFn> kernels[] = {
      {"squared_l2", k.squared_l2}, {"neg_inner_product", k.neg_inner_product}, {"l1", k.l1}};
  for (const auto& [name, fn] : kernels) {
    auto* bm = benchmark::RegisterBenchmark((prefix + name + "/" + impl).c_str(), BenchCode, format, fn);
    for (int dim : kCodeDims) bm->Arg(dim);
  }
}

void RegisterCodes() {
  for (CodeFormat format : {CodeFormat::kF16, CodeFormat::kBF16, CodeFormat::kI8, CodeFormat::kBit}) {
    const CodeKernelTable& best = vecann::kernels::CodeKernels(format);
    RegisterCodeImpl(format, std::string("best:") + best.target, best);
    for (const CodeKernelTable& t : vecann::kernels::AllRunnableCodeTargets(format)) {
      if (t.squared_l2 == best.squared_l2) continue;
      RegisterCodeImpl(format, t.target, t);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  RegisterAll();
  RegisterCodes();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("vecann_best_target", vecann::kernels::Kernels().target);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
