#!/usr/bin/env python3
"""Checks that llama.cpp loads and runs what `deepc quantize` writes, and
that deepc and llama.cpp compute the same logits on those files.

For each tiny dense fixture model (tests/data/dense) and each type, deepc
quantizes the F32 GGUF; llama.cpp (llama-cpp-python from tools/setup_llama_cpp.sh,
given a placeholder vocabulary since the fixtures have no tokenizer) and deepc
then run the fixture's token sequence, and the script prints the NMSE of
deepc vs llama.cpp and of each vs the f32 reference.

usage: /opt/deepc-tools/bin/python tools/check_quantize_llamacpp.py [--deepc build/deepc]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dense_fixtures as fx  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deepc", default="build/deepc")
    ap.add_argument("--llama-python", default="/opt/deepc-llama/bin/python")
    ap.add_argument("--types", default="Q8_0,Q4_0,Q4_1,Q4_K,Q6_K,Q4_K_M")
    a = ap.parse_args()
    man = json.load(open("tests/data/dense/manifest.json"))
    worst = 0.0
    with tempfile.TemporaryDirectory() as td:
        for mo in man["models"]:
            seq = mo["sequences"][1]
            V = mo["n_vocab"]
            ref = np.fromfile("tests/data/dense/" + mo["logits"]["f32"], dtype=np.float32).reshape(-1, V)
            ref = ref[len(mo["sequences"][0]):]
            for ty in a.types.split(","):
                out = os.path.join(td, f"{mo['name']}-{ty}.gguf")
                subprocess.run([a.deepc, "quantize", "tests/data/dense/" + mo["files"]["f32"], out, "--type", ty],
                               check=True, capture_output=True)
                ll, ver = fx.llama_cpp_logits(a.llama_python, out, [seq], V)
                subprocess.run([a.deepc, "logits", out, "--ids", ",".join(map(str, seq)), "--out", out + ".bin"],
                               check=True)
                d = np.fromfile(out + ".bin", dtype=np.float32).reshape(-1, V)
                nm = lambda x, y: float(((x - y) ** 2).sum() / (y ** 2).sum())
                e = nm(d, ll)
                worst = max(worst, e)
                print(f"{mo['name']:16s} {ty:7s} llama.cpp {ver} loads it; deepc vs llama.cpp NMSE {e:.2e}, "
                      f"max {np.abs(d - ll).max():.2e} | vs f32: llama.cpp {nm(ll, ref):.2e}, deepc {nm(d, ref):.2e}")
    print(f"worst deepc vs llama.cpp NMSE {worst:.2e}")


if __name__ == "__main__":
    main()
