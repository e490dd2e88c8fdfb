#!/usr/bin/env python3
"""HF `tokenizers` encode speed on the tokenizer corpus, one thread.

Prints one line per tokenizer: "<name> <MB/s> <MB/s batch>", where MB/s is
Tokenizer.encode called per string (added tokens parsed, no BOS) and the
batch figure is encode_batch over the whole corpus.  Used by
bench/bench_tokenizer.c, which prints deepc's speed as a ratio to these.

usage: RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false tools/bench_tokenizer_hf.py [names...]
"""
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before importing tokenizers
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tokenizer_fixtures as fx  # noqa: E402


def best_of(fn, reps):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    texts = fx.load_corpus(os.path.join(fx.ROOT, "tests/data/tokenizer/corpus.jsonl"))
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    refs = fx.reference_pairs()
    names = sys.argv[1:] or list(refs)
    for name in names:
        full = refs[name][0]
        full.encode_batch(texts[:50], add_special_tokens=False)  # warm up

        def loop():
            for t in texts:
                full.encode(t, add_special_tokens=False)

        def batch():
            full.encode_batch(texts, add_special_tokens=False)
        t1 = best_of(loop, 3)
        t2 = best_of(batch, 3)
        print(f"{name} {nbytes / t1 / 1e6:.3f} {nbytes / t2 / 1e6:.3f}", flush=True)


if __name__ == "__main__":
    main()
