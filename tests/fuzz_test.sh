#!/usr/bin/env bash
# Short libFuzzer runs of the model-file parsers inside the test suite.
# Usage (from the repo root): bash tests/fuzz_test.sh [build/deepc]
# Builds build-fuzz/<target> with clang via the Makefile, runs each target for
# FUZZ_TEST_SECONDS (default 20) seconds from its seeds (only read; new inputs
# go to a scratch directory that is removed afterwards),
# and prints "PASS: fuzz/<target>" or "FAIL: fuzz/<target>".  Without a clang
# that can link -fsanitize=fuzzer it prints a note and reports nothing.
set -u
cd "$(dirname "$0")/.."
targets="fuzz_gguf fuzz_safetensors"
secs=${FUZZ_TEST_SECONDS:-20}

if ! command -v clang >/dev/null 2>&1; then
    echo "# fuzz: clang not found, fuzz targets skipped"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$tmp/probe.c"
if ! clang -fsanitize=fuzzer "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
    echo "# fuzz: clang cannot link -fsanitize=fuzzer (libFuzzer missing), fuzz targets skipped"
    exit 0
fi

rc=0
for t in $targets; do
    if ! make --no-print-directory "build-fuzz/$t" >"$tmp/$t.build" 2>&1; then
        cat "$tmp/$t.build"
        echo "FAIL: fuzz/$t (build)"
        rc=1
        continue
    fi
    mkdir -p "$tmp/corpus-$t" "$tmp/art-$t"
    # UBSan findings must stop the run like ASan ones do.
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
        "build-fuzz/$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$tmp/art-$t/" "$tmp/corpus-$t" "fuzz/seeds/$t" >"$tmp/$t.log" 2>&1; then
        runs=$(grep -o 'Done [0-9]* runs' "$tmp/$t.log" | tail -1)
        echo "# fuzz/$t: ${runs:-ran} in ${secs} s"
        echo "PASS: fuzz/$t"
    else
        tail -n 40 "$tmp/$t.log"
        for a in "$tmp/art-$t"/*; do
            [ -f "$a" ] && { echo "# crashing input ($a), base64:"; base64 "$a" | head -c 4000; echo; }
        done
        echo "FAIL: fuzz/$t"
        rc=1
    fi
done
exit $rc
