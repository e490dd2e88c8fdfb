#!/usr/bin/env bash
# `deepc chat` driven as a person would: in a terminal (tmux), typing and
# reading the screen.  Uses the real SmolLM2 model (tools/setup.sh) and, for
# the folding of reasoning, the tiny R1-template model that
# tools/setup_server_tests.sh builds (.deps/models/tiny-r1.gguf).
# Prints PASS:/FAIL: lines; run from the repository root: bash tests/chat_test.sh build/deepc
set -u
bin=$(realpath "${1:-build/deepc}")
model=.deps/models/SmolLM2-135M-Instruct.Q4_1.gguf
r1=.deps/models/tiny-r1.gguf
sock=deepc-chat-test-$$
tm() { tmux -L "$sock" "$@"; }
pass() { echo "PASS: chat/$1"; }
fail() { echo "FAIL: chat/$1: $2"; echo "--- screen:"; tm capture-pane -p -t t 2>/dev/null | sed 's/^/    /'; }
screen() { tm capture-pane -p -J -t t -S -200; }
wait_for() { # pattern, seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        screen | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
wait_count() { # pattern, count, seconds
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        [ "$(screen | grep -cE -- "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
command -v tmux >/dev/null || { echo "FAIL: chat/tmux: tmux is not installed (bash tools/setup.sh test)"; exit 1; }
[ -s "$model" ] || { echo "FAIL: chat/model: $model missing (bash tools/setup.sh)"; exit 1; }
trap 'tm kill-server 2>/dev/null' EXIT

# 1. A conversation of two turns; the second depends on the first.
tm new-session -d -s t -x 100 -y 40 "LANG=C.UTF-8 $bin chat $model --temp 0 -n 400; sleep 30"
if wait_for '^>>> ' 20; then pass start; else fail start "no prompt"; fi
tm send-keys -t t "What is the capital of France?" Enter
# (the first token of this prompt is a near tie for SmolLM2, so the wording is not checked)
if wait_for 'tokens/s\)' 60 && screen | grep -qE '^\([1-9][0-9]* tokens, '; then pass answer; else fail answer "no answer"; fi
# 2. Chinese input is echoed and accepted.
tm send-keys -t t "你好，请用一句话介绍巴黎。" Enter
if wait_for '你好，请用一句话介绍巴黎' 5 && wait_count 'tokens/s\)' 2 60; then
    pass chinese_input; else fail chinese_input "second turn missing"; fi
# 3. /save writes the conversation with both turns.
out=$(mktemp)
tm send-keys -t t "/save $out" Enter
if wait_for "saved 4 messages" 5 && python3 -c "import json,sys; m=json.load(open('$out')); assert [x['role'] for x in m]==['user','assistant','user','assistant'] and 'France' in m[0]['content']"; then
    pass save; else fail save "saved file wrong"; fi
rm -f "$out"
# 4. /reset clears the history.
tm send-keys -t t "/reset" Enter
if wait_for "conversation cleared" 5; then pass reset; else fail reset "no confirmation"; fi
# 5. Ctrl-C stops a long answer and the prompt comes back.
tm send-keys -t t "Write a very long story about a dragon and a knight, with many chapters." Enter
sleep 1
tm send-keys -t t C-c
if wait_for '\[stopped\]' 15 && wait_for '^>>> $' 10; then pass ctrl_c; else fail ctrl_c "answer not stopped"; fi
tm send-keys -t t "/quit" Enter
sleep 0.5
tm kill-session -t t 2>/dev/null

# 6. Reasoning streams dimmed and folds into a summary when the answer starts.
if [ -s "$r1" ]; then
    tm new-session -d -s t -x 100 -y 40 "LANG=C.UTF-8 $bin chat $r1 --temp 0 -n 24 --reasoning-budget 8; sleep 30"
    wait_for '^>>> ' 20
    tm send-keys -t t "Hello" Enter
    if wait_for 'tokens/s\)' 60 && screen | grep -q '\[Thought for [0-9]* s\]'; then pass fold; else fail fold "no folded summary"; fi
    tm send-keys -t t "/quit" Enter
    sleep 0.3
    tm kill-session -t t 2>/dev/null
else
    echo "FAIL: chat/fold: $r1 missing (bash tools/setup.sh test)"
fi
exit 0
