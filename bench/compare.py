#!/usr/bin/env python3
"""Prompt and decode speed of deepc and llama.cpp on the same GGUF files.

Runs `deepc bench --json` and llama.cpp (through llama-cpp-python, built by
tools/setup_llama_cpp.sh into /opt/deepc-llama) with the same thread counts,
prompt length and number of generated tokens, interleaving the two engines
run by run, and prints medians and deepc/llama.cpp ratios.  Both engines see
the same pseudo-random token ids (no tokenizer involved).

usage: /opt/deepc-llama/bin/python bench/compare.py [--deepc build/deepc]
           [-p 128] [-n 64] [-t 1,2] [--runs 3] MODEL.gguf [MODEL.gguf ...]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time


def run_deepc(deepc, model, threads, n_prompt, n_gen):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([deepc, "bench", model, "-p", str(n_prompt), "-n", str(n_gen), "-t", str(threads),
                          "--reps", "1", "--json"], check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["prompt_tps"], r["decode_tps"]


class LlamaRunner:
    def __init__(self, model, threads, n_ctx):
        from llama_cpp import Llama
        self.llm = Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=n_ctx,
                         n_batch=512, verbose=False)
        self.n_vocab = self.llm.n_vocab()

    def run(self, n_prompt, n_gen):
        rng = random.Random(1234)
        ids = [rng.randrange(self.n_vocab) for _ in range(n_prompt + n_gen)]
        self.llm.reset()
        t0 = time.perf_counter()
        self.llm.eval(ids[:n_prompt])
        pp = n_prompt / (time.perf_counter() - t0)
        self.llm.reset()
        self.llm.eval(ids[:1])
        t0 = time.perf_counter()
        for i in range(n_gen):
            self.llm.eval(ids[1 + i:2 + i])
        tg = n_gen / (time.perf_counter() - t0)
        return pp, tg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--deepc", default="build/deepc")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("-t", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    import llama_cpp
    print(f"llama-cpp-python {llama_cpp.__version__}; prompt {a.p} tokens, decode {a.n} tokens, "
          f"median of {a.runs} interleaved runs")
    rows = []
    for model in a.models:
        for t in [int(x) for x in a.t.split(",")]:
            lr = LlamaRunner(model, t, a.p + a.n + 8)
            dp, dt, lp, lt = [], [], [], []
            for _ in range(a.runs):
                x = run_deepc(a.deepc, model, t, a.p, a.n)
                dp.append(x[0]); dt.append(x[1])
                y = lr.run(a.p, a.n)
                lp.append(y[0]); lt.append(y[1])
            del lr
            r = dict(model=os.path.basename(model), threads=t,
                     deepc_pp=statistics.median(dp), llama_pp=statistics.median(lp),
                     deepc_tg=statistics.median(dt), llama_tg=statistics.median(lt))
            rows.append(r)
            print(f"{r['model']:40s} t={t}  prompt: deepc {r['deepc_pp']:8.1f}  llama.cpp {r['llama_pp']:8.1f}"
                  f"  ratio {r['deepc_pp'] / r['llama_pp']:.2f}   decode: deepc {r['deepc_tg']:7.1f}"
                  f"  llama.cpp {r['llama_tg']:7.1f}  ratio {r['deepc_tg'] / r['llama_tg']:.2f}", flush=True)
    json.dump(rows, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
