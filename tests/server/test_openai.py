#!/usr/bin/env python3
"""End-to-end tests of `deepc serve` with the official `openai` Python client.

Usage: python tests/server/test_openai.py DEEPC [--model tiny-r1.gguf] [--smol SmolLM2.gguf]
                                                [--node-dir .deps/node] [--only NAME,...]

Every test prints "PASS: server/<name>" or "FAIL: server/<name>: why" (or
"SKIP: server/<name>: why"); the exit code is 1 when one failed.  Servers run
on 127.0.0.1 with ports the kernel picks (--port 0, read back from the
"listening on" line), except the restart test, which reuses a port on purpose.

The fixture model (tools/make_tiny_r1.py) has random weights, the real
DeepSeek-V3 tokenizer and the R1 chat template: greedy output is arbitrary
but deterministic text, reasoning first.  What the tests compare against:
  - prompt token counts: jinja2 + Hugging Face `tokenizers` (ref_prompt_tokens.py);
  - concurrency: the same greedy requests run one at a time;
  - stop strings: the same request without the stop string;
  - logprobs: the tokens' bytes joined = the text, greedy = the top alternative;
  - streaming: the non-streaming answer to the same request;
  - the npm client: the Python client's answers to the same requests.
"""
import argparse
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import openai

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS_PY = sys.executable  # .deps/venv-server: openai, tokenizers, jinja2

TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


# ---------------------------------------------------------------------------
# server process and raw HTTP helpers

class Server:
    def __init__(self, deepc, model, args=(), port=0, wait=True, log_dir=None):
        self.log = tempfile.NamedTemporaryFile(prefix="deepc-serve-", suffix=".log", dir=log_dir, delete=False)
        cmd = [deepc, "serve", model, "--port", str(port), *args]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self._read_line(20)
        if "listening on" not in line:
            self.p.kill()
            raise AssertionError("server did not start: %r; log: %s" % (line, self.log_text()[-2000:]))
        self.listen_line = line
        self.port = int(line.rsplit(":", 1)[1])
        self.base = "http://127.0.0.1:%d" % self.port
        if wait:
            self.wait_ready()

    def _read_line(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        return self.p.stdout.readline().strip() if r else ""

    def log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_ready(self, timeout=60):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.p.poll() is not None:
                raise AssertionError("server exited with %s: %s" % (self.p.returncode, self.log_text()[-2000:]))
            try:
                if raw(self.port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server not ready after %d s" % timeout)

    def client(self, key="unused", prefix="/v1", timeout=120):
        return openai.OpenAI(base_url=self.base + prefix, api_key=key, max_retries=0, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise AssertionError("server did not exit within %d s after %s" % (timeout, sig))
        self.p.stdout.close()
        os.unlink(self.log.name)
        return self.p.returncode

    def metrics(self, key=None):
        st, _, body = raw(self.port, "GET", "/metrics", headers={"Authorization": "Bearer " + key} if key else {})
        check(st == 200, "/metrics status %d" % st)
        m = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, v = line.rsplit(" ", 1)
                m[k] = float(v)
        return m


def raw(port, method, path, body=None, headers=None, timeout=60):
    """(status, headers, body bytes) of one request on a new connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def error_of(body):
    e = json.loads(body)["error"]
    check(set(e) >= {"message", "type", "param", "code"}, "error object lacks OpenAI fields: %r" % e)
    return e


def ref_prompt_tokens(convs):
    """Independent token counts (ref_prompt_tokens.py), or None when the tools venv is missing."""
    if not os.path.exists(TOOLS_PY):
        return None
    r = subprocess.run([TOOLS_PY, os.path.join(ROOT, "tests/server/ref_prompt_tokens.py")],
                       input=json.dumps(convs), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("reference tokenizer failed: " + r.stderr[-500:])
    return json.loads(r.stdout)


def chat(client, content, model="deepseek-reasoner", max_tokens=16, **kw):
    """Greedy one-message chat; reasoner requests get a reasoning budget so content follows."""
    extra = kw.pop("extra_body", {"reasoning_budget": 6} if model == "deepseek-reasoner" else {})
    kw.setdefault("temperature", 0)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": content}],
                                          max_tokens=max_tokens, extra_body=extra, **kw)


def reasoning_of(msg):
    return (msg.model_extra or {}).get("reasoning_content")


def collect_stream(stream):
    """(role, reasoning, content, finish_reason, usage, n_chunks) of a chat stream."""
    role = None
    reasoning, content = [], []
    finish = usage = None
    n = 0
    for ch in stream:
        n += 1
        if ch.usage is not None:
            usage = ch.usage
        if not ch.choices:
            continue
        d = ch.choices[0].delta
        if d.role and role is None:
            check(n == 1, "role arrived in chunk %d, not the first" % n)
            role = d.role
        r = (d.model_extra or {}).get("reasoning_content")
        if r:
            reasoning.append(r)
        if d.content:
            content.append(d.content)
        if ch.choices[0].finish_reason:
            finish = ch.choices[0].finish_reason
    return role, "".join(reasoning), "".join(content), finish, usage, n


def check_usage(u, finish=None, max_tokens=None):
    p, c, t = u.prompt_tokens, u.completion_tokens, u.total_tokens
    extra = u.model_extra or {}
    hit, miss = extra.get("prompt_cache_hit_tokens"), extra.get("prompt_cache_miss_tokens")
    check(t == p + c, "total_tokens %d != %d + %d" % (t, p, c))
    check(hit is not None and miss is not None and hit + miss == p, "cache hit %r + miss %r != prompt %d" % (hit, miss, p))
    check(u.prompt_tokens_details.cached_tokens == hit, "cached_tokens != prompt_cache_hit_tokens")
    r = u.completion_tokens_details.reasoning_tokens
    check(0 <= r <= c, "reasoning_tokens %r not within completion_tokens %d" % (r, c))
    if finish == "length" and max_tokens:
        check(c == max_tokens, "finish length but completion_tokens %d != max_tokens %d" % (c, max_tokens))


# ---------------------------------------------------------------------------
# tests on the main server (tiny-r1, 8 slots)

PROMPTS = ["Hello", "What is 2+2?", "Write a haiku about the sea.", "Translate 'cat' to French.",
           "List three colours.", "Why is the sky blue? Answer briefly.", "你好，世界", "def fib(n):"]


@test("models")
def t_models(ctx):
    check(ctx.main.listen_line.endswith("http://127.0.0.1:%d" % ctx.main.port), "default bind: %s" % ctx.main.listen_line)
    ids = [m.id for m in ctx.main.client().models.list()]
    check(ids[:1] == ["tiny-r1"] and "deepseek-chat" in ids and "deepseek-reasoner" in ids, "models: %r" % ids)
    ids2 = [m.id for m in ctx.main.client(prefix="").models.list()]
    check(ids2 == ids, "/models differs from /v1/models")
    check(ctx.main.client().models.retrieve("deepseek-reasoner").id == "deepseek-reasoner", "retrieve")
    st, _, body = raw(ctx.main.port, "GET", "/v1/models/nope")
    check(st == 404 and error_of(body), "unknown model id: %d" % st)


@test("chat_reasoning")
def t_chat(ctx):
    c = ctx.main.client()
    r = chat(c, "Hello", max_tokens=24)
    msg = r.choices[0].message
    reasoning = reasoning_of(msg)
    check(r.object == "chat.completion" and r.model == "deepseek-reasoner", "object/model: %s %s" % (r.object, r.model))
    check(msg.role == "assistant", "role %r" % msg.role)
    check(reasoning, "no reasoning_content: %r" % msg)
    check(msg.content, "no content after the reasoning budget forced </think>: %r" % msg)
    check("</think>" not in reasoning and "</think>" not in msg.content, "think tag leaked")
    check_usage(r.usage, r.choices[0].finish_reason, 24)
    u = r.usage
    check(1 <= u.completion_tokens_details.reasoning_tokens < u.completion_tokens, "reasoning_tokens %r of %d" % (
        u.completion_tokens_details.reasoning_tokens, u.completion_tokens))
    ctx.ref_chat = {"reasoning": reasoning, "content": msg.content, "finish": r.choices[0].finish_reason,
                    "usage": [u.prompt_tokens, u.completion_tokens]}
    # the same request through the unprefixed DeepSeek path gives the same answer
    r2 = chat(ctx.main.client(prefix=""), "Hello", max_tokens=24)
    check(r2.choices[0].message.content == msg.content and reasoning_of(r2.choices[0].message) == reasoning,
          "/chat/completions and /v1/chat/completions differ")


@test("chat_thinking_off")
def t_chat_off(ctx):
    r = chat(ctx.main.client(), "Hello", model="deepseek-chat", max_tokens=12)
    msg = r.choices[0].message
    check(not reasoning_of(msg), "deepseek-chat produced reasoning: %r" % reasoning_of(msg))
    check(msg.content, "empty content")
    check(r.usage.completion_tokens_details.reasoning_tokens == 0, "reasoning tokens with thinking off")
    # thinking:{type:disabled} on the model's own id is the same request
    r2 = chat(ctx.main.client(), "Hello", model="tiny-r1", max_tokens=12, extra_body={"thinking": {"type": "disabled"}})
    check(r2.choices[0].message.content == msg.content, "thinking disabled differs from deepseek-chat")
    # reasoning_budget 0 also turns thinking off
    r3 = chat(ctx.main.client(), "Hello", model="deepseek-reasoner", max_tokens=12, extra_body={"reasoning_budget": 0})
    check(r3.choices[0].message.content == msg.content, "reasoning_budget 0 differs from deepseek-chat")


@test("prompt_tokens_vs_hf")
def t_prompt_tokens(ctx):
    convs = [
        {"messages": [{"role": "user", "content": "Hello"}]},
        {"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi there, 你好!"}]},
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                      {"role": "user", "content": "c  d\n\ne"}], "thinking": "off"},
    ]
    want = ref_prompt_tokens(convs)
    if want is None:
        raise Skip("no %s for the reference tokenizer" % TOOLS_PY)
    c = ctx.main.client()
    for conv, w in zip(convs, want):
        model = "deepseek-chat" if conv.get("thinking") == "off" else "deepseek-reasoner"
        r = c.chat.completions.create(model=model, messages=conv["messages"], max_tokens=1, temperature=0)
        check(r.usage.prompt_tokens == w, "prompt_tokens %d, reference %d for %r" % (r.usage.prompt_tokens, w, conv))


@test("stream")
def t_stream(ctx):
    if not getattr(ctx, "ref_chat", None):
        raise Skip("needs chat_reasoning")
    c = ctx.main.client()
    s = chat(c, "Hello", max_tokens=24, stream=True, stream_options={"include_usage": True})
    role, reasoning, content, finish, usage, n = collect_stream(s)
    ref = ctx.ref_chat
    check(role == "assistant", "first delta role %r" % role)
    check(reasoning == ref["reasoning"], "streamed reasoning %r != %r" % (reasoning, ref["reasoning"]))
    check(content == ref["content"], "streamed content %r != %r" % (content, ref["content"]))
    check(finish == ref["finish"], "finish %r != %r" % (finish, ref["finish"]))
    check(usage is not None, "no usage chunk with include_usage")
    check([usage.prompt_tokens, usage.completion_tokens] == ref["usage"], "usage %r != %r" % (usage, ref["usage"]))
    check_usage(usage, finish, 24)
    # raw SSE: data-only events, usage chunk with empty choices, then [DONE]
    st, h, body = raw(ctx.main.port, "POST", "/v1/chat/completions", {
        "model": "deepseek-reasoner", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 8,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True}, "reasoning_budget": 4})
    check(st == 200 and h.get("Content-Type", "").startswith("text/event-stream"), "SSE status/type %d %r" % (st, h))
    events = [e for e in body.decode().split("\n\n") if e.strip()]
    check(events[-1] == "data: [DONE]", "last event %r" % events[-1])
    datas = [json.loads(e[6:]) for e in events[:-1] if e.startswith("data: ")]
    check(datas[-1]["choices"] == [] and datas[-1]["usage"]["total_tokens"] > 0, "usage chunk %r" % datas[-1])
    check(all(d["usage"] is None for d in datas[:-1]), "usage must be null before the last chunk")
    check(datas[-2]["choices"][0]["finish_reason"] == "length", "finish chunk %r" % datas[-2])
    ids = {d["id"] for d in datas}
    check(len(ids) == 1 and all(d["object"] == "chat.completion.chunk" for d in datas), "ids/objects differ")
    # without include_usage there is no usage chunk and no usage key
    s = chat(c, "Hello", max_tokens=6, stream=True)
    _, _, _, finish, usage, _ = collect_stream(s)
    check(usage is None and finish == "length", "usage %r finish %r without include_usage" % (usage, finish))


@test("sampling_seed")
def t_seed(ctx):
    c = ctx.main.client()

    def run(seed, **kw):
        return chat(c, "Hello", model="deepseek-chat", max_tokens=12, temperature=1.0, seed=seed, **kw).choices[0].message.content
    a, b, other = run(42), run(42), run(43)
    check(a == b, "same seed, different output: %r %r" % (a, b))
    check(a != other, "seeds 42 and 43 gave the same 12 sampled tokens: %r" % a)
    greedy = chat(c, "Hello", model="deepseek-chat", max_tokens=12).choices[0].message.content
    check(chat(c, "Hello", model="deepseek-chat", max_tokens=12, temperature=0.7, top_p=0).choices[0].message.content
          == greedy, "top_p 0 is not greedy")
    pen = chat(c, "Hello", model="deepseek-chat", max_tokens=12, presence_penalty=2.0, frequency_penalty=2.0)
    check(pen.choices[0].finish_reason in ("stop", "length"), "penalties")


@test("cache_hit_second_turn")
def t_cache(ctx):
    c = ctx.main.client()
    sys_msg = {"role": "system", "content": "You are a helpful assistant that answers in one short sentence. " * 4}
    turn1 = [sys_msg, {"role": "user", "content": "Tell me about the moon."}]
    r1 = c.chat.completions.create(model="deepseek-reasoner", messages=turn1, max_tokens=16, temperature=0,
                                   extra_body={"reasoning_budget": 6})
    m1 = r1.choices[0].message
    p1 = r1.usage.prompt_tokens
    # second turn: the earlier answer, with its reasoning_content sent back (ignored by the server)
    turn2 = turn1 + [{"role": "assistant", "content": m1.content, "reasoning_content": reasoning_of(m1)},
                     {"role": "user", "content": "And the sun?"}]
    r2 = c.chat.completions.create(model="deepseek-reasoner", messages=turn2, max_tokens=16, temperature=0,
                                   extra_body={"reasoning_budget": 6})
    u = r2.usage
    hit = u.model_extra["prompt_cache_hit_tokens"]
    check_usage(u)
    # the second prompt repeats the first up to "<｜Assistant｜>"; only the
    # generation prompt's "<think>\n" (2 tokens) is not in the history
    check(p1 - 2 <= hit < u.prompt_tokens, "cache hit %d, first prompt %d, second %d" % (hit, p1, u.prompt_tokens))
    check(u.prompt_tokens_details.cached_tokens == hit, "cached_tokens")
    # reasoning_content in history is ignored: same prompt and answer without it
    turn2b = turn1 + [{"role": "assistant", "content": m1.content}, {"role": "user", "content": "And the sun?"}]
    r3 = c.chat.completions.create(model="deepseek-reasoner", messages=turn2b, max_tokens=16, temperature=0,
                                   extra_body={"reasoning_budget": 6})
    check(r3.usage.prompt_tokens == u.prompt_tokens, "prompt differs when reasoning_content is sent back")
    check(r3.choices[0].message.content == r2.choices[0].message.content, "answer differs with reasoning_content")
    check(r3.usage.model_extra["prompt_cache_hit_tokens"] == u.prompt_tokens - 1,
          "identical third request should reuse all but the last prompt token, got %d of %d" % (
              r3.usage.model_extra["prompt_cache_hit_tokens"], u.prompt_tokens))


@test("stop_strings")
def t_stop(ctx):
    c = ctx.main.client()
    base = chat(c, "Tell me a story.", model="deepseek-chat", max_tokens=24).choices[0].message.content
    check(len(base) >= 8, "base answer too short for the test: %r" % base)
    k = next((i for i in range(2, len(base) // 2 + 1)
              if base[i:i + 3].strip() == base[i:i + 3] and base.find(base[i:i + 3]) == i), None)
    check(k is not None, "no usable stop string in %r" % base)
    s = base[k:k + 3]
    r = chat(c, "Tell me a story.", model="deepseek-chat", max_tokens=24, stop=s)
    check(r.choices[0].message.content == base[:k], "stop %r: %r, want %r" % (s, r.choices[0].message.content, base[:k]))
    check(r.choices[0].finish_reason == "stop", "finish %r" % r.choices[0].finish_reason)
    check(r.usage.completion_tokens < 24, "completion_tokens %d not cut" % r.usage.completion_tokens)
    r = chat(c, "Tell me a story.", model="deepseek-chat", max_tokens=24, stop=["\x01never", s])
    check(r.choices[0].message.content == base[:k], "stop list")
    _, _, content, finish, _, _ = collect_stream(chat(c, "Tell me a story.", model="deepseek-chat", max_tokens=24,
                                                      stop=[s], stream=True))
    check(content == base[:k] and finish == "stop", "streamed stop: %r %r" % (content, finish))


@test("logprobs")
def t_logprobs(ctx):
    c = ctx.main.client()
    r = chat(c, "Hello", model="deepseek-chat", max_tokens=10, logprobs=True, top_logprobs=3)
    ch = r.choices[0]
    lp = ch.logprobs.content
    check(ch.finish_reason == "length" and len(lp) == r.usage.completion_tokens, "%d entries for %d tokens" % (
        len(lp), r.usage.completion_tokens))
    joined = b"".join(bytes(e.bytes) for e in lp)
    check(joined.decode("utf-8", errors="replace") == ch.message.content, "token bytes %r != content %r" % (
        joined, ch.message.content))
    for e in lp:
        check(len(e.top_logprobs) == 3, "top_logprobs length %d" % len(e.top_logprobs))
        tops = [t.logprob for t in e.top_logprobs]
        check(tops == sorted(tops, reverse=True) and tops[0] <= 0, "top logprobs not sorted / positive: %r" % tops)
        check(abs(e.logprob - tops[0]) < 1e-6 and bytes(e.bytes) == bytes(e.top_logprobs[0].bytes),
              "greedy token is not the most likely alternative")
    s = chat(c, "Hello", model="deepseek-chat", max_tokens=10, logprobs=True, top_logprobs=2, stream=True)
    n = sum(len(ch.choices[0].logprobs.content) for ch in s if ch.choices and ch.choices[0].logprobs)
    check(n == 10, "streamed logprobs entries %d != 10" % n)
    r = chat(c, "Hello", model="deepseek-chat", max_tokens=4)
    check(r.choices[0].logprobs is None, "logprobs present without logprobs=true")


@test("completions_and_fim")
def t_completions(ctx):
    c = ctx.main.client()
    r = c.completions.create(model="deepseek-chat", prompt="def add(a, b):", max_tokens=8, temperature=0)
    check(r.object == "text_completion" and r.choices[0].text and r.choices[0].finish_reason == "length", repr(r))
    check_usage(r.usage, "length", 8)
    s = c.completions.create(model="deepseek-chat", prompt="def add(a, b):", max_tokens=8, temperature=0, stream=True)
    text = "".join(ch.choices[0].text for ch in s if ch.choices)
    check(text == r.choices[0].text, "streamed completion %r != %r" % (text, r.choices[0].text))
    beta = ctx.main.client(prefix="/beta")
    f = beta.completions.create(model="deepseek-chat", prompt="def add(a, b):\n    ", suffix="\n    return c",
                                max_tokens=8, temperature=0)
    check(f.choices[0].text, "empty FIM text")
    # FIM prompt = BOS, <fim_begin>, prefix, <fim_hole>, suffix, <fim_end>: more tokens than prefix + suffix alone
    check(f.usage.prompt_tokens > r.usage.prompt_tokens, "FIM prompt tokens %d" % f.usage.prompt_tokens)
    check(f.choices[0].text != r.choices[0].text or f.usage.prompt_tokens != r.usage.prompt_tokens, "FIM ignored suffix")


@test("errors")
def t_errors(ctx):
    c = ctx.main.client()
    port = ctx.main.port
    # malformed JSON -> 400
    st, _, body = raw(port, "POST", "/v1/chat/completions", body='{"model": "deepseek-chat", "messages": [')
    check(st == 400 and error_of(body)["type"] == "invalid_request_error", "malformed JSON: %d %s" % (st, body))
    st, _, body = raw(port, "POST", "/v1/chat/completions", body='{"messages": []} trailing')
    check(st == 400, "trailing garbage: %d" % st)
    # wrong types -> 400
    try:
        c.chat.completions.create(model="deepseek-chat", messages="hello", max_tokens=4)
        raise AssertionError("messages as a string accepted")
    except openai.BadRequestError as e:
        check(e.status_code == 400 and e.body["param"] == "messages", "wrong type: %r" % e.body)
    st, _, body = raw(port, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}],
                                                              "temperature": "hot"})
    check(st == 400 and error_of(body)["param"] == "temperature", "temperature as string: %d" % st)
    # unknown model -> 400 Model Not Exist (DeepSeek)
    try:
        chat(c, "x", model="gpt-9")
        raise AssertionError("unknown model accepted")
    except openai.BadRequestError as e:
        check("Model Not Exist" in e.message, "unknown model message: %s" % e.message)
    # invalid values -> 422
    for kw, param in (({"max_tokens": 100000}, "max_tokens"), ({"temperature": 3.0}, "temperature"),
                      ({"top_logprobs": 3}, "top_logprobs"), ({"n": 2}, "n"),
                      ({"presence_penalty": -5}, "presence_penalty")):
        try:
            chat(c, "x", model="deepseek-chat", **kw)
            raise AssertionError("%r accepted" % kw)
        except openai.UnprocessableEntityError as e:
            check(e.status_code == 422 and e.body["param"] == param, "%r: %r" % (kw, e.body))
    # limits: messages, body size, prompt tokens
    try:
        c.chat.completions.create(model="deepseek-chat", max_tokens=2,
                                  messages=[{"role": "user", "content": "x"}] * 17)
        raise AssertionError("17 messages accepted with --max-messages 16")
    except openai.UnprocessableEntityError as e:
        check("too many messages" in e.message, e.message)
    big = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "x" * 70000}]}
    st, _, body = raw(port, "POST", "/v1/chat/completions", big)
    check(st == 413 and "larger than" in error_of(body)["message"], "body limit: %d" % st)
    try:
        chat(c, "word " * 500, model="deepseek-chat", max_tokens=2)
        raise AssertionError("prompt over --max-prompt-tokens accepted")
    except openai.BadRequestError as e:
        check(e.code == "context_length_exceeded", "prompt limit: %r" % e.body)
    # unsupported features are refused, not ignored
    try:
        c.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "x"}], max_tokens=2,
                                  tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])
        raise AssertionError("tools accepted")
    except openai.UnprocessableEntityError:
        pass
    # unknown fields are ignored
    r = c.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "x"}], max_tokens=2,
                                  user="u1", extra_body={"some_future_field": {"a": 1}})
    check(r.choices[0].finish_reason in ("stop", "length"), "extra fields")
    # routing
    check(raw(port, "GET", "/nope")[0] == 404, "404")
    check(raw(port, "GET", "/v1/chat/completions")[0] == 405, "405")


@test("concurrent_equals_sequential")
def t_concurrent(ctx):
    c = ctx.main.client()

    def one(i, stream):
        kw = dict(model="deepseek-reasoner", max_tokens=16, extra_body={"reasoning_budget": 4 + i % 3})
        if stream:
            _, r, t, f, u, _ = collect_stream(chat(c, PROMPTS[i], stream=True, stream_options={"include_usage": True},
                                                   **kw))
            return r, t, f, u.completion_tokens
        res = chat(c, PROMPTS[i], **kw)
        return (reasoning_of(res.choices[0].message), res.choices[0].message.content, res.choices[0].finish_reason,
                res.usage.completion_tokens)

    seq = [one(i, False) for i in range(8)]
    out = [None] * 8
    errs = []

    def worker(i):
        try:
            out[i] = one(i, i % 2 == 1)
        except Exception as e:  # noqa: BLE001 - reported below
            errs.append(repr(e))
    m0 = ctx.main.metrics()
    th = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in th:
        t.start()
    for t in th:
        t.join(120)
    check(not errs, "errors: %r" % errs)
    for i in range(8):
        check(out[i] == seq[i], "request %d: concurrent %r != sequential %r" % (i, out[i], seq[i]))
    m1 = ctx.main.metrics()
    check(m1["deepc_engine_steps_total"] - m0["deepc_engine_steps_total"] < sum(s[3] for s in seq),
          "no batching: %d steps for %d tokens" % (m1["deepc_engine_steps_total"] - m0["deepc_engine_steps_total"],
                                                    sum(s[3] for s in seq)))


@test("prefix_shared_across_slots")
def t_prefix_shared(ctx):
    # A unique system prompt, so no idle slot caches it: B's cache hits can only
    # come from the slot A is still generating in (its KV rows copied over).
    sys_msg = {"role": "system", "content": "Shared prefix %d: you answer every question about rivers. " % os.getpid()
               + "Keep answers short and plain. " * 6}
    a_msgs = [sys_msg, {"role": "user", "content": "Name a long river."}]
    b_msgs = [sys_msg, {"role": "user", "content": "What is a delta?"}]
    c = ctx.main.client()
    a = c.chat.completions.create(model="deepseek-chat", messages=a_msgs, max_tokens=3000, temperature=0, stream=True,
                                  extra_body={"ignore_eos": True})
    try:
        for ch in a:  # A has run its prompt once it streams text
            if ch.choices and ch.choices[0].delta.content:
                break
        b = c.chat.completions.create(model="deepseek-chat", messages=b_msgs, max_tokens=16, temperature=0)
    finally:
        a.close()
    hit, p = b.usage.model_extra["prompt_cache_hit_tokens"], b.usage.prompt_tokens
    check_usage(b.usage)
    # the system message alone is over 40 tokens; without the copy only the
    # template's first token or two could match another slot's cache
    check(40 <= hit < p, "prompt_cache_hit_tokens %d of %d: the running slot's prefix was not reused" % (hit, p))
    # the copied rows are the ones B would have computed: same greedy answer as
    # on a server that runs B's whole prompt itself
    ref = ctx.keyed.client(key="sk-test-0123456789").chat.completions.create(
        model="deepseek-chat", messages=b_msgs, max_tokens=16, temperature=0)
    check(ref.usage.model_extra["prompt_cache_hit_tokens"] < 40, "reference server had the prefix cached")
    check(b.choices[0].message.content == ref.choices[0].message.content,
          "with copied prefix %r != computed %r" % (b.choices[0].message.content, ref.choices[0].message.content))
    check(b.choices[0].finish_reason == ref.choices[0].finish_reason, "finish_reason differs")


@test("prefix_shared_by_concurrent_prompts")
def t_prefix_together(ctx):
    # Four prompts with one new system prompt, sent at once to an idle server:
    # whether they are admitted in one step (the first computes the shared
    # prefix, the others wait a step and copy it) or one after another (copied
    # from a slot that has it), only one of them computes the prefix.
    sys_msg = {"role": "system", "content": "Together %d: you answer every question about birds. " % os.getpid()
               + "Keep answers short and plain. " * 6}
    qs = ["What is a heron?", "Why do geese fly in a V?", "Name a small owl.", "Do penguins fly?"]
    s = Server(ctx.deepc, ctx.model, ["--quiet", "--parallel", "4"])
    try:
        c = s.client()
        out, errs = [None] * 4, []

        def worker(i):
            try:
                r = c.chat.completions.create(model="deepseek-chat", messages=[sys_msg, {"role": "user", "content": qs[i]}],
                                              max_tokens=12, temperature=0)
                out[i] = (r.choices[0].message.content, r.choices[0].finish_reason,
                          r.usage.model_extra["prompt_cache_hit_tokens"], r.usage.prompt_tokens)
            except Exception as e:  # noqa: BLE001 - reported below
                errs.append(repr(e))
        th = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in th:
            t.start()
        for t in th:
            t.join(120)
        check(not errs, "errors: %r" % errs)
        hits = sorted(o[2] for o in out)
        check(hits[0] < 40 and all(h >= 40 for h in hits[1:]),
              "cache hits %r: the shared system prompt was computed more than once" % hits)
        m = s.metrics()
        check(m["deepc_prompt_cache_hit_tokens_total"] == sum(hits), "metrics cache hits")
        ref = ctx.keyed.client(key="sk-test-0123456789")
        for i in range(4):
            r = ref.chat.completions.create(model="deepseek-chat", messages=[sys_msg, {"role": "user", "content": qs[i]}],
                                            max_tokens=12, temperature=0)
            check((r.choices[0].message.content, r.choices[0].finish_reason) == out[i][:2],
                  "request %d: %r with shared prefix != %r computed alone" % (i, out[i][:2], r.choices[0].message.content))
    finally:
        check(s.stop() == 0, "exit code")


KILLED_CLIENT = r'''
import sys, openai
c = openai.OpenAI(base_url=sys.argv[1], api_key="x", max_retries=0)
s = c.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "Count to a million."}],
                              max_tokens=3500, temperature=0, stream=True)
n = 0
for ch in s:
    if ch.choices and ch.choices[0].delta.content:
        n += 1
        if n == 3:
            print("streaming", flush=True)
'''


def wait_idle(server, timeout=20):
    t0 = time.time()
    while time.time() - t0 < timeout:
        m = server.metrics()
        if m["deepc_active_sequences"] == 0 and m["deepc_requests_inflight"] == 0:
            return m
        time.sleep(0.05)
    raise AssertionError("slot not freed: active %d inflight %d" % (m["deepc_active_sequences"],
                                                                   m["deepc_requests_inflight"]))


@test("client_killed_midstream")
def t_killed(ctx):
    s = ctx.main
    m0 = wait_idle(s)
    p = subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, s.base + "/v1"], stdout=subprocess.PIPE, text=True)
    r, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline() if r else ""
    check("streaming" in line, "client did not start streaming: %r" % line)
    check(s.metrics()["deepc_active_sequences"] == 1, "request not active while streaming")
    p.kill()
    p.wait()
    m1 = wait_idle(s)
    check(m1['deepc_requests_finished_total{outcome="cancelled"}'] == m0['deepc_requests_finished_total{outcome="cancelled"}'] + 1,
          "the engine did not cancel the request")
    check(m1["deepc_client_disconnects_total"] == m0["deepc_client_disconnects_total"] + 1, "disconnect not counted")
    check(m1["deepc_generated_tokens_total"] - m0["deepc_generated_tokens_total"] < 3500, "ran to max_tokens anyway")
    # a non-streaming client that gives up (read timeout) is cancelled too
    try:
        s.client(timeout=0.5).chat.completions.create(
            model="deepseek-chat", messages=[{"role": "user", "content": "Count."}], max_tokens=3500, temperature=0)
        raise AssertionError("3500 tokens within 0.5 s?")
    except openai.APITimeoutError:
        pass
    m2 = wait_idle(s)
    check(m2['deepc_requests_finished_total{outcome="cancelled"}'] == m1['deepc_requests_finished_total{outcome="cancelled"}'] + 1,
          "non-streaming disconnect not cancelled")
    check(raw(s.port, "GET", "/health")[0] == 200, "unhealthy after disconnects")
    r = chat(s.client(), "Hello", model="deepseek-chat", max_tokens=4)
    check(r.choices[0].finish_reason == "length", "server unusable after a disconnect")


@test("metrics")
def t_metrics(ctx):
    m = ctx.main.metrics()
    for k in ('deepc_http_requests_total{code="200"}', 'deepc_http_requests_total{code="400"}',
              'deepc_http_requests_total{code="422"}', "deepc_prompt_tokens_total", "deepc_generated_tokens_total",
              "deepc_prompt_cache_hit_tokens_total", "deepc_queue_depth", "deepc_active_sequences",
              "deepc_generated_tokens_per_second", "deepc_model_ready", "deepc_time_to_first_token_seconds_count"):
        check(k in m, "metric %s missing" % k)
    check(m['deepc_http_requests_total{code="200"}'] > 10 and m["deepc_prompt_cache_hit_tokens_total"] > 0,
          "counters did not move")
    check(m["deepc_model_ready"] == 1 and m["deepc_queue_depth"] == 0, "gauges")


@test("node_client")
def t_node(ctx):
    nd = ctx.args.node_dir
    if not os.path.isdir(os.path.join(nd, "node_modules", "openai")):
        raise AssertionError("npm openai not installed in %s (tools/setup_server_tests.sh)" % nd)
    if not getattr(ctx, "ref_chat", None):
        raise Skip("needs chat_reasoning")
    env = dict(os.environ, DEEPC_NODE_MODULES=os.path.join(nd, "node_modules"), DEEPC_BASE=ctx.main.base,
               DEEPC_KEY_BASE=ctx.keyed.base, DEEPC_KEY="sk-test-0123456789", DEEPC_REF=json.dumps(ctx.ref_chat))
    r = subprocess.run(["node", os.path.join(ROOT, "tests/server/test_openai.cjs")], env=env, capture_output=True,
                       text=True, timeout=120)
    sys.stdout.write(r.stdout)
    fails = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
    check(r.returncode == 0 and not fails, "node tests failed (exit %d): %s %s" % (r.returncode, fails, r.stderr[-1500:]))


# ---------------------------------------------------------------------------
# other servers

@test("auth")
def t_auth(ctx):
    s = ctx.keyed
    key = "sk-test-0123456789"
    r = chat(s.client(key=key), "Hello", model="deepseek-chat", max_tokens=2)
    check(r.choices[0].message.content is not None, "valid key refused")
    for bad in ("sk-test-0123456788", "sk-test-012345678", "sk-test-01234567890", "x"):
        try:
            chat(s.client(key=bad), "Hello", model="deepseek-chat", max_tokens=2)
            raise AssertionError("wrong key accepted")
        except openai.AuthenticationError as e:
            check(e.status_code == 401 and bad not in json.dumps(e.body), "401 body echoes the key: %r" % e.body)
    st, h, body = raw(s.port, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
    check(st == 401 and error_of(body)["type"] == "authentication_error", "no key: %d" % st)
    check(raw(s.port, "GET", "/v1/models")[0] == 401, "models without key")
    check(raw(s.port, "GET", "/health")[0] == 200, "health must not need the key")
    st, _, _ = raw(s.port, "GET", "/v1/models", headers={"Authorization": "bearer " + key})
    check(st == 200, "scheme must be case-insensitive")
    check(key not in s.log_text(), "the key appears in the server log")


@test("queue_full_and_keepalive")
def t_queue(ctx):
    """One slot, one queue place: A generates, B waits (and gets ': keep-alive'
    comments), C is refused with 429."""
    s = Server(ctx.deepc, ctx.model, ["--parallel", "1", "--queue", "1", "--keepalive", "0.1", "--quiet"])
    try:
        c = s.client()
        started = threading.Event()
        stop_a = threading.Event()
        res = {}

        def a():  # long enough to outlast the checks below; closed (cancelled) when they are done
            st = c.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "A"}],
                                           max_tokens=3500, temperature=0, stream=True)
            for ch in st:
                if ch.choices and ch.choices[0].delta.content:
                    started.set()
                if stop_a.is_set():
                    st.close()
                    break
            res["a"] = True
        ta = threading.Thread(target=a)
        ta.start()
        check(started.wait(60), "A did not start")
        # B: raw socket, to see the SSE comments the SDK hides
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=60)
        body = json.dumps({"model": "deepseek-chat", "messages": [{"role": "user", "content": "B"}], "max_tokens": 2,
                           "temperature": 0, "stream": True})
        sock.sendall(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
        t0 = time.time()
        while s.metrics()["deepc_queue_depth"] != 1 and time.time() - t0 < 20:
            time.sleep(0.02)
        check(s.metrics()["deepc_queue_depth"] == 1, "B is not queued")
        try:
            chat(c, "C", model="deepseek-chat", max_tokens=2)
            raise AssertionError("C accepted with a full queue")
        except openai.RateLimitError as e:
            check(e.status_code == 429, "C status %d" % e.status_code)
        time.sleep(0.5)  # B waits: several keep-alive periods
        check(s.metrics()["deepc_queue_depth"] == 1, "A finished too early for the test")
        stop_a.set()
        data = b""
        while b"data: [DONE]" not in data:
            k = sock.recv(65536)
            if not k:
                break
            data += k
        sock.close()
        text = data.decode("utf-8", errors="replace")
        check(": keep-alive" in text, "no keep-alive comment while B waited")
        check(text.index(": keep-alive") < text.index('"content":null') if '"content":null' in text else True,
              "keep-alive after content")
        check("data: [DONE]" in text and '"finish_reason":"length"' in text, "B did not finish: %r" % text[-300:])
        ta.join(120)
        check(res.get("a"), "A failed")
    finally:
        check(s.stop() == 0, "exit code")


@test("health_while_loading")
def t_loading(ctx):
    """The model path is a FIFO: the load blocks in open() until a writer
    comes, so the server is observably 'loading'; closing the writer makes the
    load fail, and the server exits 1."""
    d = tempfile.mkdtemp()
    fifo = os.path.join(d, "model.gguf")
    os.mkfifo(fifo)
    try:
        s = Server(ctx.deepc, fifo, ["--quiet"], wait=False)
        st, _, body = raw(s.port, "GET", "/health")
        check(st == 503 and error_of(body)["message"] == "Loading model", "health while loading: %d %s" % (st, body))
        st, _, _ = raw(s.port, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
        check(st == 503, "chat while loading: %d" % st)
        check(s.metrics()["deepc_model_ready"] == 0, "ready while loading")
        # Feed junk to every open() of the path (the loader tries GGUF, then
        # safetensors) until the server gives up.
        t0 = time.time()
        while s.p.poll() is None and time.time() - t0 < 30:
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader right now
                time.sleep(0.05)
                continue
            try:
                os.write(fd, b"not a model")
            except OSError:
                pass
            os.close(fd)
            time.sleep(0.05)
        s.p.wait(30)
        check(s.p.returncode == 1 and "cannot load" in s.log_text(), "load failure: rc %s" % s.p.returncode)
        s.stop()
    finally:
        os.unlink(fifo)
        os.rmdir(d)


@test("sigterm_drain_and_restart")
def t_drain(ctx):
    s = Server(ctx.deepc, ctx.model, ["--quiet"])
    port = s.port
    c = s.client()
    got = {}
    first = threading.Event()

    def streamer():
        try:
            st = c.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "Go"}],
                                           max_tokens=1000, temperature=0, stream=True,
                                           stream_options={"include_usage": True})
            n = 0
            for ch in st:
                if ch.choices and ch.choices[0].delta.content:
                    n += 1
                    if n == 2:
                        first.set()
                if ch.choices and ch.choices[0].finish_reason:
                    got["finish"] = ch.choices[0].finish_reason
                if ch.usage:
                    got["tokens"] = ch.usage.completion_tokens
        except Exception as e:  # noqa: BLE001
            got["error"] = repr(e)
    t = threading.Thread(target=streamer)
    t.start()
    check(first.wait(60), "stream did not start")
    s.p.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    st_h = raw(port, "GET", "/health")[0]
    st_c = raw(port, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "max_tokens": 2})[0]
    t.join(120)
    rc = s.stop()
    check(st_h == 503 and st_c == 503, "during drain: health %d, new request %d" % (st_h, st_c))
    check("error" not in got and got.get("finish") == "length" and got.get("tokens") == 1000,
          "in-flight stream not finished: %r" % got)
    check(rc == 0, "exit code after drain %d" % rc)
    # restart on the same port right away (TIME_WAIT connections from above)
    s2 = Server(ctx.deepc, ctx.model, ["--quiet"], port=port)
    try:
        check(s2.port == port, "restarted on %d" % s2.port)
        r = chat(s2.client(), "Hello", model="deepseek-chat", max_tokens=3)
        check(r.choices[0].finish_reason == "length", "restarted server does not answer")
    finally:
        check(s2.stop() == 0, "exit code of the restarted server")
    # a second server on a port in use fails cleanly
    s3 = Server(ctx.deepc, ctx.model, ["--quiet"])
    try:
        p = subprocess.run([ctx.deepc, "serve", ctx.model, "--port", str(s3.port)], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode == 1 and "cannot listen" in p.stderr, "port in use: rc %d %s" % (p.returncode, p.stderr))
    finally:
        s3.stop()


@test("smollm2_plain_chat")
def t_smol(ctx):
    if not ctx.args.smol or not os.path.exists(ctx.args.smol):
        raise AssertionError("SmolLM2 GGUF missing: %s (tools/setup.sh)" % ctx.args.smol)
    s = Server(ctx.deepc, ctx.args.smol, ["--quiet", "--parallel", "2"])
    try:
        models = [m.id for m in s.client().models.list()]
        r = s.client().chat.completions.create(model=models[0], max_tokens=24, temperature=0, messages=[
            {"role": "user", "content": "What is the capital of France?"}])
        text = r.choices[0].message.content
        # The first token of this prompt is a near tie for SmolLM2 (tests/data/smollm2/ref.json), so
        # the wording depends on kernel rounding; a real, readable answer is what is checked here.
        check(len(text.strip()) >= 8 and sum(ch.isalpha() for ch in text) >= 5, "SmolLM2 answer: %r" % text)
        check(not reasoning_of(r.choices[0].message), "reasoning from a model without <think>")
        check(r.choices[0].finish_reason in ("stop", "length"), "finish")
    finally:
        check(s.stop() == 0, "exit code")


@test("smollm2_ignore_eos")
def t_smol_ignore_eos(ctx):
    if not ctx.args.smol or not os.path.exists(ctx.args.smol):
        raise AssertionError("SmolLM2 GGUF missing: %s (tools/setup.sh)" % ctx.args.smol)
    s = Server(ctx.deepc, ctx.args.smol, ["--quiet", "--parallel", "1", "--threads", "1"])
    try:
        c = s.client()
        model = c.models.list().data[0].id
        msgs = [{"role": "user", "content": "Reply with just the word yes."}]
        # SmolLM2 ends this answer with <|im_end|> well before 24 tokens ...
        r1 = c.chat.completions.create(model=model, messages=msgs, max_tokens=24, temperature=0)
        check(r1.choices[0].finish_reason == "stop" and r1.usage.completion_tokens < 24,
              "plain answer: finish %r after %d tokens" % (r1.choices[0].finish_reason, r1.usage.completion_tokens))
        # ... and with ignore_eos it goes on to max_tokens, the same answer first
        r2 = c.chat.completions.create(model=model, messages=msgs, max_tokens=24, temperature=0,
                                       extra_body={"ignore_eos": True})
        check(r2.choices[0].finish_reason == "length", "ignore_eos finish %r" % r2.choices[0].finish_reason)
        check_usage(r2.usage, "length", 24)
        check(r2.choices[0].message.content.startswith(r1.choices[0].message.content),
              "ignore_eos answer %r does not start with %r" % (r2.choices[0].message.content,
                                                               r1.choices[0].message.content))
        # streamed too, with the usage chunk
        _, _, text, fin, u, _ = collect_stream(c.chat.completions.create(
            model=model, messages=msgs, max_tokens=24, temperature=0, stream=True,
            stream_options={"include_usage": True}, extra_body={"ignore_eos": True}))
        check(fin == "length" and u.completion_tokens == 24 and text == r2.choices[0].message.content,
              "streamed ignore_eos: %r, %d tokens" % (fin, u.completion_tokens))
        st, _, body = raw(s.port, "POST", "/v1/chat/completions", json.dumps(
            {"model": model, "messages": msgs, "ignore_eos": "yes"}).encode(), {"Content-Type": "application/json"})
        check(st == 400 and error_of(body)["param"] == "ignore_eos", "ignore_eos as a string: %d %r" % (st, body))
    finally:
        check(s.stop() == 0, "exit code")


# ---------------------------------------------------------------------------

class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("deepc")
    ap.add_argument("--model", default=os.path.join(ROOT, ".deps/models/tiny-r1.gguf"))
    ap.add_argument("--smol", default=os.path.join(ROOT, ".deps/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--node-dir", default=os.path.join(ROOT, ".deps/node"))
    ap.add_argument("--only", default="")
    ap.add_argument("--extra-args", default="", help="more `deepc serve` options for every server")
    a = ap.parse_args()
    ctx = Ctx()
    ctx.args = a
    ctx.deepc = os.path.abspath(a.deepc)
    ctx.model = a.model
    only = set(filter(None, a.only.split(",")))
    n_fail = 0
    try:
        common = a.extra_args.split()
        ctx.main = Server(ctx.deepc, ctx.model, common + [
            "--parallel", "8", "--max-tokens-limit", "4000", "--max-body", "65536", "--max-messages", "16",
            "--max-prompt-tokens", "400", "--keepalive", "1"])
        ctx.keyed = Server(ctx.deepc, ctx.model, common + ["--api-key", "sk-test-0123456789", "--parallel", "1"])
    except Exception as e:  # noqa: BLE001
        print("FAIL: server/start: %s" % e)
        return 1
    for name, fn in TESTS:
        if only and name not in only:
            continue
        t0 = time.time()
        try:
            fn(ctx)
            print("PASS: server/%s (%.1f s)" % (name, time.time() - t0), flush=True)
        except Skip as e:
            print("SKIP: server/%s: %s" % (name, e), flush=True)
        except Exception as e:  # noqa: BLE001
            n_fail += 1
            print("FAIL: server/%s: %s" % (name, e), flush=True)
            traceback.print_exc(file=sys.stdout)
    for s in (ctx.main, ctx.keyed):
        if s.p.poll() is not None:
            print("FAIL: server/alive: a shared server died (exit %s): %s" % (s.p.returncode, s.log_text()[-2000:]))
            n_fail += 1
            continue
        rc = s.stop()
        if rc != 0:
            print("FAIL: server/shutdown: exit code %d after SIGTERM" % rc)
            n_fail += 1
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
