# dpmlp — build, test, train. `make help` lists the targets.
# Variables: CC=gcc|clang, SAN=address,undefined|thread (sanitized build in build/san-*),
#            OPT (default -O3 -g), PREFIX/DESTDIR for install, THREADS for train/bench.

# Every CPU builds (a fresh clone's `make check` compiled for 51 s on one of 2 cores, 25 s on
# both); `make -j1` builds one file at a time. Only the top-level make adds it: a sub-make
# already shares the parent's job slots.
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif

CC      ?= cc
OPT     ?= -O3 -g
SAN     ?=
PREFIX  ?= /usr/local
PKGS    := hwloc zlib

ifeq ($(SAN),)
BUILD   ?= build
SANFLAGS :=
else
BUILD   ?= build/san-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
comma := ,

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS  ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fno-math-errno -fopenmp -pthread $(OPT) $(SANFLAGS) \
           $(PKG_CFLAGS) -MMD -MP
LDFLAGS += -fopenmp -pthread $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lm

# The layers (DESIGN.md): each folder is compiled with include paths to itself and the layers
# below it only, so an upward #include is a compile error and the arrows check themselves.
# base <- math, io, platform <- engine <- api.c; the CLI sees the public header alone.
LAYERS       := base math io platform engine
INC_base     := -Iinclude -Isrc/base
INC_math     := $(INC_base) -Isrc/math
INC_io       := $(INC_base) -Isrc/io
INC_platform := $(INC_base) -Isrc/platform
INC_engine   := $(INC_base) -Isrc/math -Isrc/io -Isrc/platform -Isrc/engine
INC_api      := $(INC_engine)
INC_cli      := -Iinclude -Isrc/cli
# Tests reach into every room.
INC_tests    := $(INC_engine) -Isrc/cli -Itests

# Kernels for wider vector units are compiled with their ISA enabled and chosen at run time.
AVX512_FLAGS := -mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma -mavx2
AVX2_FLAGS   := -mavx2 -mfma
# bf16 mixed precision (bf16.h): vdpbf16ps, and AMX tiles on top of it.
BF16_FLAGS   := $(AVX512_FLAGS) -mavx512bf16
AMX_FLAGS    := $(BF16_FLAGS) -mamx-tile -mamx-bf16

# MPI=1 links the MPI glue, the default build its single-process twin (no #ifdefs).
DIST_SKIP := $(if $(filter 1,$(MPI)),src/platform/dist_single.c,src/platform/dist_mpi.c)
LIB_SRC  := $(filter-out $(DIST_SKIP),$(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))) src/api.c
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
TEST_SRC := $(wildcard tests/*/check_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_UTIL_SRC := $(wildcard tests/util/*.c)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:tests/util/%.c=$(BUILD)/obj/tests/util/%.o)

# The include paths of the folder a source lives in (src/api.c is its own floor).
layer_inc = $(INC_$(if $(filter src/api.c,$1),api,$(word 2,$(subst /, ,$1))))

.PHONY: all lib cli tests check check-unit check-cli check-tsan check-asan install uninstall \
        deps data train xor bench bench-kernels bench-deps fuzz clean help

all: $(BUILD)/dpmlp $(BUILD)/libdpmlp.a

help:
	@echo "make            build $(BUILD)/dpmlp and $(BUILD)/libdpmlp.a"
	@echo "make train      install deps, build, link Fashion-MNIST into data/fashion, train the default model"
	@echo "make check      unit suites (Check) and end-to-end CLI tests"
	@echo "make check SAN=address,undefined   the same under AddressSanitizer + UBSan"
	@echo "make check-tsan the threaded suites under ThreadSanitizer"
	@echo "make xor        the classic first example: 2-2-1 sigmoid network learns XOR"
	@echo "make bench      training throughput at 1 and all (nproc, or THREADS=N) threads, three widths, beside PyTorch and the FMA peak, and the bf16 rows"
	@echo "make bench-kernels  GFLOP/s of each kernel path and tile beside oneDNN/BLIS/libxsmm/OpenBLAS (if installed: scripts/deps.sh --bench)"
	@echo "make bench-deps python3-torch + OpenBLAS for the PyTorch column of make bench"
	@echo "make fuzz       libFuzzer on every input reader, FUZZ_SECONDS each (default 60)"
	@echo "make install PREFIX=/usr/local DESTDIR="
	@echo "                binary, libdpmlp.a + libdpmlp.so.*, dpmlp.pc, header, man pages; make uninstall"
	@echo "make man        build/man/dpmlp.1 (help2man, from the --help texts) and libdpmlp.3"

$(BUILD)/obj/%_bf16_avx512.o: src/%_bf16_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) $(BF16_FLAGS) -c $< -o $@
$(BUILD)/obj/%_bf16_amx.o: src/%_bf16_amx.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) $(AMX_FLAGS) -c $< -o $@
$(BUILD)/obj/%_avx512.o: src/%_avx512.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) $(AVX512_FLAGS) -c $< -o $@
$(BUILD)/obj/%_avx2.o: src/%_avx2.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) $(AVX2_FLAGS) -c $< -o $@
$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call layer_inc,$<) -c $< -o $@
$(BUILD)/obj/tests/util/%.o: tests/util/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) $(CHECK_CFLAGS) -c $< -o $@

$(BUILD)/libdpmlp.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/dpmlp: $(CLI_OBJ) $(BUILD)/libdpmlp.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libdpmlp.a $(LDLIBS)

# The CLI's rooms (all but main) are linked into the tests that check them.
CLI_LIB_OBJ := $(filter-out %/main.o,$(CLI_OBJ))
$(BUILD)/tests/%: tests/%.c $(TEST_UTIL_OBJ) $(CLI_LIB_OBJ) $(BUILD)/libdpmlp.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INC_tests) $(CHECK_CFLAGS) -o $@ $< $(TEST_UTIL_OBJ) $(CLI_LIB_OBJ) \
	    $(BUILD)/libdpmlp.a $(LDFLAGS) $(CHECK_LIBS) $(LDLIBS)

# LD_PRELOAD shim for tests/cli/test_team_start.sh: the k-th pthread_create fails.
SHIM_FAIL_CREATE := $(BUILD)/tests/engine/shim_fail_pthread_create.so
$(SHIM_FAIL_CREATE): tests/engine/shim_fail_pthread_create.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

tests: $(TEST_BIN) $(BUILD)/dpmlp $(SHIM_FAIL_CREATE)

# Check runs suites without fork: GCC's OpenMP runtime is not fork-safe (DESIGN.md, traps).
check: tests
	@CK_FORK=no DPMLP=$(BUILD)/dpmlp BUILD=$(BUILD) scripts/run-tests.sh $(TEST_BIN)

check-unit: tests
	@CK_FORK=no DPMLP=$(BUILD)/dpmlp BUILD=$(BUILD) SKIP_CLI=1 scripts/run-tests.sh $(TEST_BIN)

check-asan:
	$(MAKE) check SAN=address,undefined

# ThreadSanitizer on the threaded suites. clang + LLVM's libomp: its barriers are annotated
# for TSan, GCC's libgomp is not (it would report false races inside the runtime). Test cases
# tagged one-thread (Check's tcase_set_tags) start no threads, so TSan skips them.
check-tsan:
	$(MAKE) CC=clang SAN=thread tests
	@CK_FORK=no CK_EXCLUDE_TAGS=one-thread TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1" \
	    DPMLP=build/san-thread/dpmlp BUILD=build/san-thread SKIP_CLI=1 \
	    scripts/run-tests.sh $(filter %check_train %check_train_val %check_team %check_evaluate %check_topo %check_kernels %check_api %check_train_bf16 %check_kernels_bf16,$(TEST_BIN:$(BUILD)/%=build/san-thread/%))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/dpmlp $(DESTDIR)$(PREFIX)/bin/dpmlp
	install -m 644 $(BUILD)/libdpmlp.a $(DESTDIR)$(PREFIX)/lib/libdpmlp.a
	install -m 644 include/dpmlp.h $(DESTDIR)$(PREFIX)/include/dpmlp.h

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/dpmlp $(DESTDIR)$(PREFIX)/lib/libdpmlp.a \
	      $(DESTDIR)$(PREFIX)/include/dpmlp.h

deps:
	scripts/deps.sh

data:
	scripts/fetch-data.sh data/fashion

# The README's first command: everything from a fresh machine to a trained model.
TRAIN_FLAGS ?= --layers 784,256,128,10 --act relu --loss xent --optim adam --lr 0.001 \
               --epochs 10 --batch 128 --seed 1
train: deps
	$(MAKE) all
	scripts/fetch-data.sh data/fashion
	$(BUILD)/dpmlp train --data data/fashion $(TRAIN_FLAGS) $(if $(THREADS),--threads $(THREADS)) \
	    --log build/fashion.jsonl --save build/fashion.model

# The classic first example of backprop: a 2-2-1 sigmoid network learns XOR (MSE loss).
xor: all
	$(BUILD)/dpmlp train --train data/xor.csv --layers 2,2,1 --act sigmoid --out sigmoid \
	    --loss mse --optim sgd --lr 2 --epochs 3000 --batch 4 --seed 1 --threads 1 --quiet \
	    --save $(BUILD)/xor.model
	@$(BUILD)/dpmlp predict --model $(BUILD)/xor.model --input data/xor.csv > $(BUILD)/xor.pred
	@tail -n +2 data/xor.csv | cut -d, -f1,2 | paste -d' ' - $(BUILD)/xor.pred | \
	    awk '{ split($$1, x, ","); printf "%s XOR %s -> %.4f -> %d\n", x[1], x[2], $$2, ($$2 > 0.5) }'

bench: all
	scripts/bench.sh --bf16 $(if $(THREADS),--threads 1$(comma)$(THREADS))

# GFLOP/s of every GEMM candidate at the per-worker shapes, single-threaded: the own kernel
# paths and tile configs, and each library found by a header + link test (recursive variables,
# so only this target runs the tests; a missing library is a printed note, never an error).
# OpenBLAS links first: BLIS also exports cblas_sgemm, and the first definition wins.
bk_have = $(shell printf '\043include <$(1)>\nint main(void){return 0;}\n' | \
	    $(CC) $(2) -x c - -o /dev/null $(3) 2>/dev/null && echo yes)
BK_OPENBLAS_CF = $(shell pkg-config --cflags openblas 2>/dev/null)
BK_LIBS = $(if $(call bk_have,cblas.h,$(BK_OPENBLAS_CF),-lopenblas),-DBK_OPENBLAS $(BK_OPENBLAS_CF) -lopenblas) \
	  $(if $(call bk_have,dnnl.h,,-ldnnl),-DBK_DNNL -ldnnl) \
	  $(if $(call bk_have,blis.h,,-lblis -lm),-DBK_BLIS -lblis) \
	  $(if $(call bk_have,libxsmm.h,,-lxsmm -lxsmmnoblas -ldl),-DBK_XSMM -lxsmm -lxsmmnoblas -ldl)
BENCH_KERNELS_ARGS ?=
bench-kernels: $(BUILD)/libdpmlp.a
	$(CC) -O2 -pthread scripts/peak_flops.c -o $(BUILD)/peak_flops
	$(CC) $(CFLAGS) $(INC_tests) -o $(BUILD)/bench_kernels scripts/bench_kernels.c $(BUILD)/libdpmlp.a \
	    $(LDFLAGS) $(BK_LIBS) $(LDLIBS)
	$(BUILD)/bench_kernels --peak $$($(BUILD)/peak_flops --threads 1 --reps 10 | sed -n 's/.*gflops=//p') \
	    $(BENCH_KERNELS_ARGS)

# PyTorch (and OpenBLAS, which it needs to be a fair peer) for the side-by-side columns.
bench-deps:
	scripts/deps.sh --bench

# Fuzz every untrusted-input reader with libFuzzer (clang) for FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*.d $(BUILD)/tests/*/*.d)

# --- MPI (make MPI=1) ---
# `make MPI=1` builds $(BUILD)/dpmlp against MPI: mpicc (override with MPICC=…; pick its
# backend compiler with OMPI_CC=clang), linking src/platform/dist_mpi.c instead of
# src/platform/dist_single.c (DIST_SKIP above). A stamp in the object directory records
# which flavour the objects were built as; switching MPI=0 <-> MPI=1 in the same BUILD rebuilds everything instead of
# linking a mix. To keep both side by side: make MPI=1 BUILD=build/mpi (tests/cli/test_mpi.sh
# does exactly that).
MPI     ?= 0
MPICC   ?= mpicc
ifeq ($(MPI),1)
override CC := $(MPICC)
# Tells the tests (check_dist) which flavour they are linked against.
override CFLAGS += -DDPMLP_MPI
MPI_FLAVOUR := mpi
else
MPI_FLAVOUR := single
endif
MPI_STAMP := $(BUILD)/obj/.flavour-$(MPI_FLAVOUR)
$(LIB_OBJ) $(CLI_OBJ) $(TEST_UTIL_OBJ): $(MPI_STAMP)
$(MPI_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/obj/.flavour-*
	@touch $@

# --- Shared library, pkg-config, man pages (make install) ---
# build/libdpmlp.so.MAJOR.MINOR (soname libdpmlp.so.MAJOR), its version from the header's
# DPMLP_VERSION_* lines. The library's objects are compiled -fPIC once and serve the .a as
# well (-fno-semantic-interposition keeps the code the same as -fPIE's: direct calls inside
# the library; PIC_CFLAGS= turns it off to compare). Only the functions declared in
# include/dpmlp.h are exported: a version script made from the preprocessed header.
dp_version_part = $(shell sed -n 's/^\#define DPMLP_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/dpmlp.h)
DP_MAJOR    := $(call dp_version_part,MAJOR)
DP_MINOR    := $(call dp_version_part,MINOR)
DP_PATCH    := $(call dp_version_part,PATCH)
DP_VERSION  := $(DP_MAJOR).$(DP_MINOR).$(DP_PATCH)
SONAME      := libdpmlp.so.$(DP_MAJOR)
SHLIB_FILE  := libdpmlp.so.$(DP_MAJOR).$(DP_MINOR)
SHLIB       := $(BUILD)/$(SHLIB_FILE)
PIC_CFLAGS  ?= -fPIC -fno-semantic-interposition
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
$(LIB_OBJ): CFLAGS += $(PIC_CFLAGS)
# Objects compiled with other PIC flags (or before they existed) are rebuilt, as for MPI=.
PIC_STAMP := $(BUILD)/obj/.pic-$(if $(PIC_CFLAGS),on,off)
$(LIB_OBJ): $(PIC_STAMP)
$(PIC_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/obj/.pic-*
	@touch $@

all: $(SHLIB) $(BUILD)/libdpmlp.so
lib: $(SHLIB) $(BUILD)/libdpmlp.a

# Every dp_name( of the header with its comments stripped, less types of function pointers.
$(BUILD)/libdpmlp.map: include/dpmlp.h
	@mkdir -p $(dir $@)
	{ echo '{'; echo '  global:'; \
	  $(CC) -E -P $< | grep -oE '\bdp_[a-z0-9_]+ *\([^*]' | sed -E 's/ *\(.*//; s/.*/    &;/' | sort -u; \
	  echo '  local: *;'; echo '};'; } > $@.tmp && mv $@.tmp $@

# A sanitized build's library leaves the sanitizer runtime to the executable.
$(SHLIB): $(LIB_OBJ) $(BUILD)/libdpmlp.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,$(BUILD)/libdpmlp.map \
	    $(if $(SAN),,-Wl,--no-undefined) $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)
$(BUILD)/libdpmlp.so: $(SHLIB)
	ln -sf $(SHLIB_FILE) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# dpmlp.pc for the install prefix (made at install time: PREFIX may differ from the build's).
$(BUILD)/dpmlp.pc: scripts/dpmlp.pc.in include/dpmlp.h FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(DP_VERSION)|' $< > $@.tmp && mv $@.tmp $@
FORCE:

# dpmlp.1 from the binary's own --help texts (help2man; scripts/man/help-all.sh joins the
# commands' texts) plus scripts/man/dpmlp.h2m for formats, exit codes and environment;
# libdpmlp.3 is written by hand.
MAN_PAGES := $(BUILD)/man/dpmlp.1 $(BUILD)/man/libdpmlp.3
man: $(MAN_PAGES)
$(BUILD)/man/dpmlp.1: $(BUILD)/dpmlp scripts/man/help-all.sh scripts/man/dpmlp.h2m
	@mkdir -p $(dir $@)
	cp scripts/man/help-all.sh $(BUILD)/man/dpmlp
	DPMLP_BIN=$(BUILD)/dpmlp help2man --no-info --no-discard-stderr --section=1 \
	    --name="data-parallel multilayer perceptron trainer" --version-string=$(DP_VERSION) \
	    --include=scripts/man/dpmlp.h2m --output=$@.tmp $(BUILD)/man/dpmlp && mv $@.tmp $@
$(BUILD)/man/libdpmlp.3: scripts/man/libdpmlp.3
	@mkdir -p $(dir $@)
	sed 's/@VERSION@/$(DP_VERSION)/' $< > $@

install: install-lib
install-lib: $(SHLIB) $(BUILD)/libdpmlp.so $(BUILD)/dpmlp.pc $(MAN_PAGES)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB_FILE)
	ln -sf $(SHLIB_FILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libdpmlp.so
	install -m 644 $(BUILD)/dpmlp.pc $(DESTDIR)$(LIBDIR)/pkgconfig/dpmlp.pc
	install -m 644 $(BUILD)/man/dpmlp.1 $(DESTDIR)$(MANDIR)/man1/dpmlp.1
	install -m 644 $(BUILD)/man/libdpmlp.3 $(DESTDIR)$(MANDIR)/man3/libdpmlp.3

uninstall: uninstall-lib
uninstall-lib:
	rm -f $(DESTDIR)$(LIBDIR)/$(SHLIB_FILE) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libdpmlp.so $(DESTDIR)$(LIBDIR)/pkgconfig/dpmlp.pc \
	      $(DESTDIR)$(MANDIR)/man1/dpmlp.1 $(DESTDIR)$(MANDIR)/man3/libdpmlp.3

.PHONY: man install-lib uninstall-lib FORCE
