# deepc - build, test, sanitizers, fuzzing.
#   make            build/deepc and build/libdeepc.a
#   make test       build and run every test (last line: "N passed, N failed")
#   make asan       the same tests built with AddressSanitizer + UBSan
#   make fuzz       libFuzzer targets for the model-file parsers (clang), short runs
#   make bench      benchmark binaries
CC ?= cc
ifeq ($(origin CC),default)
CC = gcc
endif
BUILD ?= build
OPT ?= -O2
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
       -Wvla -Wformat=2 -Wdouble-promotion -Wno-format-nonliteral
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -fopenmp -Iinclude -Isrc/base -Isrc/formats \
              -Isrc/kern -Isrc/model -Isrc/text -Isrc/engine -Isrc/server -Isrc/cli
CFLAGS += $(CFLAGS_BASE) $(EXTRA_CFLAGS)
LDLIBS = -fopenmp -ljson-c -lpcre2-8 -lutf8proc -lmicrohttpd -lsqlite3 -lm -lpthread
LDFLAGS += $(EXTRA_LDFLAGS)

# Per-ISA kernel files get their own -m flags; nothing else is built with
# them, so the binary runs on any x86-64 and picks a variant from CPUID.
ISA_AVX2 = -mavx2 -mfma -mf16c
ISA_AVX512 = -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16

LIB_SRC = $(sort $(wildcard src/base/*.c src/formats/*.c src/kern/*.c src/model/*.c src/text/*.c \
                             src/engine/*.c src/server/*.c))
CLI_SRC = $(sort $(wildcard src/cli/*.c))
TEST_SRC = $(sort $(wildcard tests/test_*.c))
BENCH_SRC = $(sort $(wildcard bench/*.c))

LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/web_assets.o
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test check asan ubsan fuzz bench clean headers

all: $(BUILD)/deepc $(BUILD)/libdeepc.a $(TEST_BIN) $(BENCH_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/src/kern/kern_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/obj/src/kern/kern_avx512.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/obj/src/kern/kern_avx512_q.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/obj/src/kern/kern_lat_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/obj/src/kern/kern_lat_avx512.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/obj/src/kern/kern_fp8_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/obj/src/kern/kern_fp8_avx512.o: CFLAGS += $(ISA_AVX512)
$(BUILD)/obj/src/kern/kern_attn_avx2.o: CFLAGS += $(ISA_AVX2)
$(BUILD)/obj/src/kern/kern_attn_avx512.o: CFLAGS += $(ISA_AVX512)

# The chat page: web/dist (built from web/ with npm, committed) becomes C
# byte arrays, so `make` needs python3 but not node (docs/WEB.md).
WEB_DIST = $(sort $(shell find web/dist -type f 2>/dev/null))
$(BUILD)/web_assets.c: $(WEB_DIST) tools/embed_assets.py
	@mkdir -p $(dir $@)
	python3 tools/embed_assets.py web/dist $@
$(BUILD)/obj/web_assets.o: $(BUILD)/web_assets.c src/server/web.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libdeepc.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/deepc: $(CLI_OBJ) $(BUILD)/libdeepc.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libdeepc.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(BUILD)/libdeepc.a tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libdeepc.a $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdeepc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdeepc.a $(LDLIBS)

# Every header compiles on its own.
headers:
	@for h in include/*.h src/*/*.h; do \
	  echo '#include "'$$h'"' | $(CC) $(CFLAGS) -x c -fsyntax-only -I. - || exit 1; done; echo "headers ok"

test: all headers
	bash tests/run_all.sh $(BUILD)

# What CI runs: the tests in the normal build and in the ASan+UBSan build,
# counted together.
check: all headers
	$(MAKE) BUILD=build-asan OPT=-O1 $(ASAN_VARS) all
	ASAN_OPTIONS=detect_leaks=1 bash tests/run_all.sh $(BUILD) build-asan

ASAN_VARS = EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
            EXTRA_LDFLAGS="-fsanitize=address,undefined"
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 $(ASAN_VARS) all
	ASAN_OPTIONS=detect_leaks=1 bash tests/run_all.sh build-asan

ubsan:
	$(MAKE) BUILD=build-ubsan EXTRA_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=undefined" all
	bash tests/run_all.sh build-ubsan

# libFuzzer targets: fuzz/fuzz_*.c linked with the library sources (clang).
FUZZ_SRC = $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN = $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/base \
              -Isrc/formats -Isrc/kern -Isrc/model -Isrc/text
FUZZ_LIB = src/base/err.c src/base/dtype.c src/base/mapfile.c src/formats/gguf.c src/formats/safetensors.c
build-fuzz/%: fuzz/%.c $(FUZZ_LIB)
	@mkdir -p build-fuzz
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB) -ljson-c -lm
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  $$f -max_total_time=$${FUZZ_SECONDS:-60} -max_len=65536 build-fuzz/corpus-$$n fuzz/seeds/$$n || exit 1; done

bench: $(BENCH_BIN)

clean:
	rm -rf build build-asan build-ubsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
