# Builds the vecann PostgreSQL extension with PGXS (C++17, g++).
#   make && make install        build and install into pg_config's PostgreSQL
#   make installcheck           pg_regress suite against a running server
#   make unit                   GoogleTest suite of the Postgres-free parts (CMake)
# The whole test suite, with its own scratch server, is scripts/test.sh.

EXTENSION  = vecann
EXTVERSION = 0.3.0

MODULE_big = vecann
OBJS = \
	src/pg/module.o \
	src/pg/guard.o \
	src/type/vector_io.o \
	src/type/vector_cast.o \
	src/type/vector_ops.o \
	src/type/agg_state.o \
	src/type/vector_agg.o \
	src/type/vector_slice.o \
	src/type/text_error.o \
	src/type/halfvec_io.o \
	src/type/halfvec_cast.o \
	src/type/halfvec_ops.o \
	src/type/halfvec_agg.o \
	src/type/sparsevec_io.o \
	src/type/sparsevec_ops.o \
	src/type/bit_ops.o \
	src/codec/text_scan.o \
	src/codec/vector_text.o \
	src/codec/vector_binary.o \
	src/codec/halfvec.o \
	src/codec/sparsevec.o \
	src/kernels/distance.o \
	src/kernels/half.o \
	src/kernels/bits.o \
	src/kernels/sparse.o \
	src/kernels/quantize.o \
	src/core/hnsw_build.o \
	src/core/hnsw_graph.o \
	src/core/kmeans.o \
	src/am/keys.o \
	src/am/corrupted.o \
	src/am/validate.o \
	src/am/routine.o \
	src/hnsw/handler.o \
	src/hnsw/settings.o \
	src/hnsw/facts.o \
	src/hnsw/tid_set.o \
	src/hnsw/pages.o \
	src/hnsw/neighbors.o \
	src/hnsw/reach.o \
	src/hnsw/search.o \
	src/hnsw/build.o \
	src/hnsw/insert.o \
	src/hnsw/scan.o \
	src/hnsw/vacuum.o \
	src/hnsw/cost.o \
	src/hnsw/check.o \
	src/ivfflat/handler.o \
	src/ivfflat/settings.o \
	src/ivfflat/facts.o \
	src/ivfflat/build.o \
	src/ivfflat/insert.o \
	src/ivfflat/scan.o \
	src/ivfflat/vacuum.o \
	src/ivfflat/cost.o

# The current version's script is generated from sql/vecann.sql; released
# versions are frozen files, and upgrade scripts lead from each to the next.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.1.0--0.2.0.sql \
       sql/$(EXTENSION)--0.2.0.sql sql/$(EXTENSION)--0.2.0--0.3.0.sql

REGRESS = vector_io vector_ops vector_cast vector_agg vector_slice halfvec sparsevec bit hnsw_ddl hnsw_scan hnsw_types hnsw_quantization pgvector_settings ivfflat security
REGRESS_OPTS = --load-extension=$(EXTENSION)

PG_CPPFLAGS = -Isrc -DVECANN_VERSION='"$(EXTVERSION)"'
PG_CXXFLAGS = -std=c++17 -fPIC -Wno-register -Wno-missing-field-initializers
SHLIB_LINK  = -lhwy -lstdc++ -lpthread

# No LLVM bitcode for JIT inlining: it would need clang++ to digest Highway.
override with_llvm = no
# Track header dependencies (.deps/), so a changed header rebuilds its users.
override autodepend = yes

EXTRA_CLEAN = build

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

.PHONY: unit
unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j2
	ctest --test-dir build --output-on-failure
