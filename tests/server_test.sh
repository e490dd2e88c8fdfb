#!/usr/bin/env bash
# Server tests: `deepc serve` on a fixture model, driven by the official openai
# clients (PyPI and npm).  Usage: bash tests/server_test.sh build/deepc
# Prints PASS:/FAIL: server/<name> lines (tests/server/test_openai.py) and exits
# non-zero on any failure.  Installs its own dependencies under .deps/ first
# (tools/setup_server_tests.sh; a no-op when they are in place).
set -u
cd "$(dirname "$0")/.."
deepc=${1:-build/deepc}
if ! bash tools/setup_server_tests.sh >/tmp/deepc-server-setup.$$ 2>&1; then
    cat /tmp/deepc-server-setup.$$
    rm -f /tmp/deepc-server-setup.$$
    echo "FAIL: server/setup (tools/setup_server_tests.sh failed)"
    exit 1
fi
rm -f /tmp/deepc-server-setup.$$
if [ ! -x "$deepc" ]; then
    echo "FAIL: server/binary ($deepc not built)"
    exit 1
fi
exec .deps/venv-server/bin/python tests/server/test_openai.py "$deepc" "${@:2}"
