#!/usr/bin/env python3
"""Load generator for `deepc serve` (and optionally llama.cpp's server).

For each concurrency level (default 1, 4, 8, 16) it runs that many client
threads; each sends --requests streaming chat requests one after another
(greedy, max_tokens --tokens, prompts that differ per request) and records

  - time to first token (TTFT): request sent -> first SSE chunk carrying text
    (content or reasoning_content), seconds;
  - generated tokens: usage.completion_tokens of the include_usage chunk
    (llama.cpp: counted chunks when it sends no usage).

and prints aggregate generated tokens/s (all tokens / wall time of the level),
p50 / p99 TTFT, and the speed-up over one stream.  Clients use raw
http.client (no SDK) so their own cost stays small next to the server's.

    python bench/serve_load.py [--deepc build/deepc] [--model GGUF] [--levels 1,4,8,16]
                               [--tokens 64] [--requests 2] [--threads N] [--ignore-eos]
                               [--llama-python PY] [--json OUT] [--newcomer WORDS] [--prefill-chunk N]
                               [--cache-type T]

--llama-python PY runs the same load against `PY -m llama_cpp.server` (needs
llama-cpp-python with its server extras) on the same GGUF; llama-cpp-python's
server runs one sequence at a time (queued behind a lock, with
--interrupt_requests False so a new request does not cut off the running one),
so it shows the baseline without batching.
--ignore-eos sends the ignore_eos extension (deepc, llama.cpp and vLLM
accept it), so every request generates exactly --tokens tokens whatever the
model says: fixed work per request, needed for random-weight bench models.
--newcomer WORDS adds a stall probe after the levels: one stream generates
--tokens tokens and, after its 8th, a second request arrives whose prompt is
WORDS words long; it prints the first stream's longest wait between two
tokens and the newcomer's TTFT (deepc: see --prefill-chunk, passed to serve).
All servers listen on 127.0.0.1 only and are stopped at the end.
"""
import argparse
import http.client
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOPICS = ["the sea", "a lighthouse", "mountains", "a library", "the moon", "a robot", "autumn", "a city at night",
          "a river", "an old clock", "snow", "a garden", "the desert", "a train", "a violin", "stars"]


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def one_request(port, model, prompt, tokens, path="/v1/chat/completions", ignore_eos=False):
    """(ttft seconds or None, generated tokens) of one streamed request."""
    req = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": tokens,
           "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    if ignore_eos:
        req["ignore_eos"] = True
    body = json.dumps(req)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError("HTTP %d: %s" % (r.status, r.read()[:300]))
    ttft = None
    chunks = 0
    usage = None
    while True:
        line = r.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        ev = json.loads(data)
        if ev.get("usage"):
            usage = ev["usage"].get("completion_tokens")
        for ch in ev.get("choices") or []:
            d = ch.get("delta") or {}
            if d.get("content") or d.get("reasoning_content"):
                chunks += 1
                if ttft is None:
                    ttft = time.perf_counter() - t0
    c.close()
    return ttft, usage if usage is not None else chunks


def stall_probe(port, model, tokens, words, ignore_eos=False):
    """(longest gap in s between tokens of a running stream, newcomer TTFT in s)."""
    req = {"model": model, "messages": [{"role": "user", "content": "Write a long story about the sea."}],
           "max_tokens": tokens, "temperature": 0, "stream": True}
    if ignore_eos:
        req["ignore_eos"] = True
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("POST", "/v1/chat/completions", body=json.dumps(req), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    times, newcomer = [], {}

    def newcomer_run():
        prompt = "Summarize: " + " ".join(TOPICS[i % len(TOPICS)].split()[-1] for i in range(words))
        t, _ = one_request(port, model, prompt, 2, ignore_eos=True)
        newcomer["ttft"] = t

    th = None
    while True:
        line = r.readline()
        if not line or line.strip() == b"data: [DONE]":
            break
        if line.startswith(b"data: "):
            ev = json.loads(line[6:])
            for ch in ev.get("choices") or []:
                d = ch.get("delta") or {}
                if d.get("content") or d.get("reasoning_content"):
                    times.append(time.perf_counter())
                    if len(times) == 8:
                        th = threading.Thread(target=newcomer_run)
                        th.start()
    c.close()
    if th:
        th.join()
    gaps = [b - a for a, b in zip(times[7:], times[8:])]  # from the 8th token, when the newcomer leaves
    return (max(gaps) if gaps else float("nan")), newcomer.get("ttft", float("nan"))


def run_level(port, model, n, requests, tokens, ignore_eos=False):
    ttfts, toks, errs = [], [], []
    lock = threading.Lock()

    def worker(w):
        for k in range(requests):
            prompt = "Write a long story about %s, part %d." % (TOPICS[(w + k) % len(TOPICS)], w * requests + k)
            try:
                t, g = one_request(port, model, prompt, tokens, ignore_eos=ignore_eos)
            except Exception as e:  # noqa: BLE001 - reported
                with lock:
                    errs.append(repr(e))
                continue
            with lock:
                if t is not None:
                    ttfts.append(t)
                toks.append(g)
    th = [threading.Thread(target=worker, args=(w,)) for w in range(n)]
    t0 = time.perf_counter()
    for t in th:
        t.start()
    for t in th:
        t.join()
    wall = time.perf_counter() - t0
    return {"streams": n, "requests": len(toks), "errors": len(errs), "tokens": sum(toks), "wall_s": wall,
            "tok_s": sum(toks) / wall if wall > 0 else 0.0, "ttft_p50_s": percentile(ttfts, 50),
            "ttft_p99_s": percentile(ttfts, 99), "first_error": errs[0] if errs else None}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_health(port, proc, timeout=300, path="/health"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server not ready")


def start_deepc(a, levels):
    cmd = [a.deepc, "serve", a.model, "--port", "0", "--quiet", "--parallel", str(max(levels + ([2] if a.newcomer > 0 else []))), "--ctx",
           str(a.ctx), "--queue", "256"]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    if a.repack:
        cmd += ["--repack"]
    if a.prefill_chunk >= 0:
        cmd += ["--prefill-chunk", str(a.prefill_chunk)]
    if a.cache_type:
        cmd += ["--cache-type", a.cache_type]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    r, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline() if r else ""
    port = int(line.strip().rsplit(":", 1)[1])
    wait_health(port, p)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/v1/models")
    model = json.loads(c.getresponse().read())["data"][0]["id"]
    return p, port, model


def start_llama(a, levels):
    port = free_port()
    cmd = [a.llama_python, "-m", "llama_cpp.server", "--model", a.model, "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", str(a.ctx), "--verbose", "False", "--interrupt_requests", "False"]
    if a.threads:
        cmd += ["--n_threads", str(a.threads)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_health(port, p, path="/v1/models")
    return p, port, os.path.basename(a.model)


def bench(name, start, a, levels):
    p, port, model = start(a, levels)
    rows = []
    try:
        one_request(port, model, "warm up", 4)
        for n in levels:
            row = run_level(port, model, n, a.requests, a.tokens, a.ignore_eos)
            row["server"] = name
            rows.append(row)
            print("%-8s streams %2d: %3d req, %5d tokens in %6.2f s = %7.1f tok/s, TTFT p50 %.3f s p99 %.3f s%s" % (
                name, n, row["requests"], row["tokens"], row["wall_s"], row["tok_s"], row["ttft_p50_s"],
                row["ttft_p99_s"], ", %d errors (%s)" % (row["errors"], row["first_error"]) if row["errors"] else ""),
                flush=True)
        if a.newcomer > 0:
            gap, ttft = stall_probe(port, model, a.tokens, a.newcomer, a.ignore_eos)
            print("%-8s newcomer of %d words: running stream's longest gap %.3f s, newcomer TTFT %.3f s" % (
                name, a.newcomer, gap, ttft), flush=True)
            rows.append({"server": name, "newcomer_words": a.newcomer, "max_gap_s": gap, "newcomer_ttft_s": ttft})
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    lv = [r for r in rows if "streams" in r]
    if lv and lv[0]["tok_s"] > 0:
        print("%-8s speed-up over 1 stream: %s" % (name, ", ".join(
            "%d: %.2fx" % (r["streams"], r["tok_s"] / lv[0]["tok_s"]) for r in lv)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deepc", default=os.path.join(ROOT, "build", "deepc"))
    ap.add_argument("--model", default=os.path.join(ROOT, ".deps", "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--levels", default="1,4,8,16")
    ap.add_argument("--tokens", type=int, default=64, help="max_tokens per request")
    ap.add_argument("--requests", type=int, default=2, help="requests per stream and level")
    ap.add_argument("--ctx", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repack", action="store_true", help="deepc serve --repack (weights packed at load)")
    ap.add_argument("--ignore-eos", action="store_true",
                    help="send ignore_eos so every request generates exactly --tokens tokens")
    ap.add_argument("--llama-python", default="", help="python with llama-cpp-python[server] to compare")
    ap.add_argument("--json", default="", help="write all rows to this file")
    ap.add_argument("--newcomer", type=int, default=0, help="stall probe: newcomer prompt of this many words")
    ap.add_argument("--prefill-chunk", type=int, default=-1, help="deepc serve --prefill-chunk (default: its own)")
    ap.add_argument("--cache-type", default="", help="deepc serve --cache-type (f32, f16 for dense models, ...)")
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    rows = bench("deepc", start_deepc, a, levels)
    if a.llama_python:
        rows += bench("llama.cpp", start_llama, a, levels)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
