#!/usr/bin/env bash
# Browser test of the chat page (docs/WEB.md): headless Debian chromium driven
# by playwright-core against `deepc serve` on the fixture models.
#   bash tests/web_test.sh build/deepc
# Prints PASS:/FAIL: web/<name> lines and exits non-zero on any failure;
# screenshots land in tests/out/web/.  Installs playwright-core (pinned by
# tests/web/package-lock.json) under .deps/web-node and builds the tiny-r1
# fixture (tools/setup_server_tests.sh) when they are missing.
set -u
cd "$(dirname "$0")/.."
deepc=${1:-build/deepc}
chromium=${CHROMIUM:-/usr/bin/chromium}
fail() { echo "FAIL: web/$1"; exit 1; }

[ -x "$deepc" ] || fail "setup ($deepc not built)"
[ -x "$chromium" ] || fail "setup ($chromium missing: bash tools/setup.sh test)"
command -v node >/dev/null || fail "setup (node missing: bash tools/setup.sh test)"

dir=.deps/web-node
if ! cmp -s tests/web/package-lock.json "$dir/package-lock.json" || [ ! -d "$dir/node_modules/playwright-core" ]; then
    mkdir -p "$dir"
    cp tests/web/package.json tests/web/package-lock.json "$dir/"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >/dev/null 2>&1 ||
        fail "setup (npm ci of playwright-core failed)"
fi
if [ ! -s .deps/models/tiny-r1.gguf ]; then
    log=$(mktemp)
    if ! bash tools/setup_server_tests.sh >"$log" 2>&1; then
        cat "$log"; rm -f "$log"
        fail "setup (tools/setup_server_tests.sh could not build .deps/models/tiny-r1.gguf)"
    fi
    rm -f "$log"
fi
CHROMIUM=$chromium exec node tests/web/chat.test.mjs "$deepc"
