#!/usr/bin/env python3
"""Prompt and decode speed of deepc and llama.cpp on the same GGUF files.

Runs `deepc bench --json` and llama.cpp (through llama-cpp-python, built by
tools/setup_llama_cpp.sh into /opt/deepc-llama) with the same thread counts,
prompt length and number of generated tokens, interleaving the two engines
run by run, and prints medians and deepc/llama.cpp ratios.  Both engines see
the same pseudo-random token ids (no tokenizer involved).

For each thread count the machine's read bandwidth is measured once at the
start (`deepc bench --membw -t T`), and deepc's decode is also shown as bytes
of weights per token, achieved GB/s (bytes/token x tokens/s) and the share of
that bandwidth.  A second line per file gives the medians of the per-pair
ratios (each deepc run against the llama.cpp run right after it), the
bandwidth probed before every run and after the last, and the median share of
each deepc run against the larger probe around it: on a machine whose
bandwidth changes from minute to minute these are the phase-matched figures.

--ctx-depth N: decode speed with N positions already in the cache against an
empty cache, for both engines.  Each engine fills its cache once per file and
thread count (deepc: one `deepc bench --ctx-depth N --reps R` process;
llama.cpp: N prompt tokens evaluated once, then the cache is cut back to N
before each timed decode), then times --runs decodes of -n tokens; medians,
and the ratio depth/empty for each engine.

usage: /opt/deepc-llama/bin/python bench/compare.py [--deepc build/deepc]
           [-p 128] [-n 64] [-t 1,2] [--runs 3] [--ctx-depth N] MODEL.gguf [MODEL.gguf ...]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time


def deepc_json(deepc, threads, args):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([deepc, "bench", *args, "-t", str(threads), "--json"], check=True, capture_output=True,
                         text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


DEEPC_EXTRA = []  # e.g. ["--cache-type", "bf16"] (--cache-type)


def run_deepc(deepc, model, threads, n_prompt, n_gen):
    r = deepc_json(deepc, threads, [model, "-p", str(n_prompt), "-n", str(n_gen), "--reps", "1", *DEEPC_EXTRA])
    return r["prompt_tps"], r["decode_tps"], r["weight_bytes_per_token"]


def deepc_membw(deepc, threads):
    return deepc_json(deepc, threads, ["--membw"])["membw_gbs"]


def deepc_depth(deepc, model, threads, n_gen, depth, runs):
    """Median decode tokens/s of `runs` repetitions after one fill to depth."""
    r = deepc_json(deepc, threads, [model, "-p", "0", "-n", str(n_gen), "--ctx-depth", str(depth),
                                    "--reps", str(runs), *DEEPC_EXTRA])
    return statistics.median(r["decode_tps_reps"]), r["ctx_fill_s"]


class LlamaRunner:
    def __init__(self, model, threads, n_ctx):
        from llama_cpp import Llama
        self.llm = Llama(model_path=model, n_threads=threads, n_threads_batch=threads, n_ctx=n_ctx,
                         n_batch=512, verbose=False)
        self.n_vocab = self.llm.n_vocab()

    def ids(self, n):
        rng = random.Random(1234)
        return [rng.randrange(self.n_vocab) for _ in range(n)]

    def run(self, n_prompt, n_gen):
        ids = self.ids(n_prompt + n_gen)
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

    def depth(self, n_gen, depth, runs):
        """Median decode tokens/s at `depth` cached positions (filled once)."""
        ids = self.ids(depth + n_gen + 1)
        self.llm.reset()
        t0 = time.perf_counter()
        if depth > 0:
            self.llm.eval(ids[:depth])
        fill = time.perf_counter() - t0
        tps = []
        for _ in range(runs):
            # eval() first drops every cached position >= n_tokens
            self.llm.n_tokens = depth
            t0 = time.perf_counter()
            for i in range(n_gen):
                self.llm.eval(ids[depth + i:depth + i + 1])
            tps.append(n_gen / (time.perf_counter() - t0))
        return statistics.median(tps), fill


def compare_speed(a, model, t, bw):
    """Interleaved runs; the read bandwidth is probed before every run and after the last (this
    project's VM switches between bandwidth phases within minutes).  Each deepc run's share of the
    bandwidth is taken against the larger probe around it, and the ratios are also given per pair
    (a deepc run and the llama.cpp run right after it, so both saw about the same phase)."""
    lr = LlamaRunner(model, t, a.p + a.n + 8)
    dp, dt, lp, lt, probes = [], [], [], [], []
    bpt = 0.0
    for _ in range(a.runs):
        probes.append(deepc_membw(a.deepc, t))
        x = run_deepc(a.deepc, model, t, a.p, a.n)
        dp.append(x[0]); dt.append(x[1]); bpt = x[2]
        y = lr.run(a.p, a.n)
        lp.append(y[0]); lt.append(y[1])
    probes.append(deepc_membw(a.deepc, t))
    del lr
    r = dict(model=os.path.basename(model), threads=t,
             deepc_pp=statistics.median(dp), llama_pp=statistics.median(lp),
             deepc_tg=statistics.median(dt), llama_tg=statistics.median(lt),
             deepc_bytes_per_token=bpt, membw_gbs=bw, probes_gbs=probes,
             pair_pp_ratio=statistics.median(d / l for d, l in zip(dp, lp)),
             pair_tg_ratio=statistics.median(d / l for d, l in zip(dt, lt)))
    r["deepc_gbs"] = bpt * r["deepc_tg"] / 1e9
    r["deepc_bw_pct"] = 100 * r["deepc_gbs"] / bw
    r["run_bw_pct"] = statistics.median(100 * bpt * d / 1e9 / max(probes[i], probes[i + 1]) for i, d in enumerate(dt))
    print(f"{r['model']:34s} t={t}  prompt: deepc {r['deepc_pp']:8.1f}  llama.cpp {r['llama_pp']:8.1f}"
          f"  ratio {r['deepc_pp'] / r['llama_pp']:.2f}   decode: deepc {r['deepc_tg']:7.1f}"
          f"  llama.cpp {r['llama_tg']:7.1f}  ratio {r['deepc_tg'] / r['llama_tg']:.2f}"
          f"   deepc {bpt / 1e6:7.1f} MB/token {r['deepc_gbs']:6.2f} GB/s {r['deepc_bw_pct']:5.1f}% of bw",
          flush=True)
    print(f"{'':34s}      per pair: prompt ratio {r['pair_pp_ratio']:.2f}  decode ratio {r['pair_tg_ratio']:.2f}"
          f"   probes {' '.join(f'{b:.1f}' for b in probes)} GB/s   decode {r['run_bw_pct']:5.1f}% of the run's bw",
          flush=True)
    return r


def compare_depth(a, model, t):
    d = a.ctx_depth
    lr = LlamaRunner(model, t, d + a.n + 16)
    d0, _ = deepc_depth(a.deepc, model, t, a.n, 0, a.runs)
    l0, _ = lr.depth(a.n, 0, a.runs)
    dd, dfill = deepc_depth(a.deepc, model, t, a.n, d, a.runs)
    ld, lfill = lr.depth(a.n, d, a.runs)
    del lr
    r = dict(model=os.path.basename(model), threads=t, ctx_depth=d, deepc_tg0=d0, deepc_tgd=dd, llama_tg0=l0,
             llama_tgd=ld, deepc_fill_s=dfill, llama_fill_s=lfill)
    print(f"{r['model']:34s} t={t}  decode empty: deepc {d0:7.1f}  llama.cpp {l0:7.1f}   at {d}: deepc {dd:7.1f}"
          f"  llama.cpp {ld:7.1f}   depth/empty: deepc {dd / d0:.2f}  llama.cpp {ld / l0:.2f}"
          f"   (fill {d} tokens: deepc {dfill:.0f} s, llama.cpp {lfill:.0f} s)", flush=True)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--deepc", default="build/deepc")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("-t", default="1,2")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ctx-depth", type=int, default=0,
                    help="compare decode at N cached positions with decode at an empty cache")
    ap.add_argument("--cache-type", default=None,
                    help="deepc's KV cache type (f32 default, bf16, q8); llama.cpp keeps its default f16 cache")
    ap.add_argument("--repack", action="store_true",
                    help="run deepc with --repack (weights packed for its kernels at load, as llama.cpp's CPU "
                         "backend repacks Q4_0 by default)")
    a = ap.parse_args()
    if a.cache_type:
        DEEPC_EXTRA.extend(["--cache-type", a.cache_type])
    if a.repack:
        DEEPC_EXTRA.append("--repack")
    import llama_cpp
    threads = [int(x) for x in a.t.split(",")]
    print(f"llama-cpp-python {llama_cpp.__version__}; load average {os.getloadavg()[0]:.2f}; deepc options: "
          f"{' '.join(DEEPC_EXTRA) or '(none)'}")
    rows = []
    if a.ctx_depth > 0:
        print(f"decode {a.n} tokens at an empty cache and at {a.ctx_depth} cached positions, "
              f"median of {a.runs} runs after one fill", flush=True)
        for model in a.models:
            for t in threads:
                rows.append(compare_depth(a, model, t))
    else:
        bw = {t: deepc_membw(a.deepc, t) for t in threads}
        print("read bandwidth (deepc bench --membw): " + ", ".join(f"{bw[t]:.2f} GB/s at {t} thread(s)"
                                                                   for t in threads))
        print(f"prompt {a.p} tokens, decode {a.n} tokens, median of {a.runs} interleaved runs", flush=True)
        for model in a.models:
            for t in threads:
                rows.append(compare_speed(a, model, t, bw[t]))
    print(f"load average {os.getloadavg()[0]:.2f}")
    json.dump(rows, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
