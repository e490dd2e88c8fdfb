#!/usr/bin/env bash
# Installs llama-cpp-python (which builds llama.cpp from source) into its own
# venv, /opt/deepc-llama by default. It is a reference engine only: parity and
# speed comparisons in tools/ and tests, never linked into deepc.
#
# Build choices and why:
# - clang, not gcc-12: gcc-12 builds with AMX enabled are known to crash on
#   quantized models; clang avoids that class of problem altogether.
# - GGML_NATIVE=OFF with an explicit x86-64 feature list (AVX2/FMA/F16C and
#   AVX-512 incl. VNNI/BF16), AMX explicitly OFF, so the build does not depend
#   on what the build host happens to report.  This build runs every model,
#   deepseek2 included.
# - --amx: a second build with llama.cpp's AMX int8 path on (clang, the AMX
#   tile/int8/bf16 flags and __AMX_INT8__ defined), into /opt/deepc-llama-amx
#   by default.  It is llama.cpp's fastest build for dense models on CPUs
#   with AMX, and cannot run deepseek2 models; bench/compare.py run with its
#   interpreter measures against it.
# - nice: the build takes 10-20 min on 2 cores and should not starve others.
#
# Usage: tools/setup_llama_cpp.sh [--amx] [venv-dir]
# Env:   PYTHON (interpreter used to create the venv, default python3)
#        LLAMA_CPP_PYTHON_SPEC (pip requirement, default llama-cpp-python)
set -euo pipefail

AMX=0
if [ "${1:-}" = "--amx" ]; then
    AMX=1
    shift
fi
if [ "$AMX" = 1 ]; then VENV="${1:-/opt/deepc-llama-amx}"; else VENV="${1:-/opt/deepc-llama}"; fi
PYTHON="${PYTHON:-python3}"
SPEC="${LLAMA_CPP_PYTHON_SPEC:-llama-cpp-python}"

need_apt=()
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v clang++ >/dev/null 2>&1 || need_apt+=(clang)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v make >/dev/null 2>&1 || need_apt+=(build-essential)
if [ "${#need_apt[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup_llama_cpp: missing ${need_apt[*]} and not root" >&2
        exit 1
    fi
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y clang cmake build-essential
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip

if "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null && [ -z "${FORCE:-}" ]; then
    echo "setup_llama_cpp: llama_cpp already importable in $VENV (set FORCE=1 to rebuild)"
    "$VENV/bin/python" -c 'import llama_cpp; print("llama_cpp", llama_cpp.__version__)'
    exit 0
fi

CMAKE_ARGS="-DGGML_NATIVE=OFF"
CMAKE_ARGS+=" -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
CMAKE_ARGS+=" -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON"
if [ "$AMX" = 1 ]; then
    CMAKE_ARGS+=" -DGGML_AMX_TILE=ON -DGGML_AMX_INT8=ON -DGGML_AMX_BF16=ON"
    CMAKE_ARGS+=" -DCMAKE_C_FLAGS=-D__AMX_INT8__=1 -DCMAKE_CXX_FLAGS=-D__AMX_INT8__=1"
else
    CMAKE_ARGS+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
CMAKE_ARGS+=" -DLLAMA_CURL=OFF"
export CMAKE_ARGS
export CC=clang CXX=clang++
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
echo "setup_llama_cpp: CMAKE_ARGS=$CMAKE_ARGS"

# Record the flags next to the install so reference files can quote them.
nice -n 10 "$VENV/bin/python" -m pip install --no-cache-dir --no-binary llama-cpp-python \
    --force-reinstall "$SPEC"
printf 'CC=%s\nCXX=%s\nCMAKE_ARGS=%s\n' "$CC" "$CXX" "$CMAKE_ARGS" > "$VENV/deepc-build-flags.txt"
"$VENV/bin/python" -c 'import llama_cpp; print("llama_cpp", llama_cpp.__version__)'
