#!/usr/bin/env bash
# Runs every test program of each build directory given (default: build) -
# BUILD/tests/test_* - then every tests/*_test.sh script once (given the first
# build's deepc binary), counts PASS:/FAIL: lines, and ends with one line
# "N passed, N failed".  A program that crashes or exits non-zero without
# reporting a FAIL line counts as one failure, so a crash is never silent.
set -u
[ $# -eq 0 ] && set -- build
pass=0; fail=0
log=$(mktemp)
run_one() { # label, command...
    local name=$1; shift
    local t0; t0=$(date +%s)
    timeout "${DEEPC_TEST_TIMEOUT:-900}" "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local p f
    p=$(grep -c '^PASS: ' "$log"); f=$(grep -c '^FAIL: ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: $name (exit code $rc)"; f=1
    fi
    pass=$((pass + p)); fail=$((fail + f))
    echo "# $name: ${p} passed, ${f} failed in $(( $(date +%s) - t0 )) s"
}
for b in "$@"; do
    for t in "$b"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "$b/$(basename "$t")" "$t"
    done
done
# The engine's batch and prompt-in-pieces checks once more with the AVX2
# kernel tables (the CPUs without AVX-512 take those paths), first build only.
[ -x "$1/tests/test_engine" ] && run_one "$1/test_engine (DEEPC_KERNELS=avx2)" env DEEPC_KERNELS=avx2 "$1/tests/test_engine"
for t in tests/*_test.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" bash "$t" "$1/deepc"
done
rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
