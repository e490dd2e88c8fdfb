#!/usr/bin/env python3
"""Writes a Qwen2-1.5B-shaped qwen2 GGUF with random weights for speed
measurements (bench/compare; the weights are noise, not a model).

Shapes are DeepSeek-R1-Distill-Qwen-1.5B's: hidden 1536, 28 layers, 12 heads,
2 KV heads (head 128), FFN 8960, vocab 151936, q/k/v biases, untied output.
The file is written as Q8_0 (random int8 quants with small random f16 scales,
made directly in the block layout so no quantizer is needed); Q4_0 and Q4_K_M
are then made from it by `deepc quantize`.  A placeholder vocab lets
llama.cpp load it.  Files go to DIR (default /tmp/deepc-bench/):
qwen2-1.5b-q8_0.gguf, -q4_0.gguf, -q4_k_m.gguf.

Usage: /opt/deepc-tools/bin/python tools/make_dense_bench_model.py [DIR] [--deepc build/deepc]
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from placeholder_vocab import add_placeholder_vocab  # noqa: E402

QWEN2_1_5B = dict(vocab=151936, hidden=1536, layers=28, heads=12, kv_heads=2, ffn=8960,
                  ctx=131072, theta=10000.0, eps=1e-6)


def plan(p):
    D, H, Hk, F = p["hidden"], p["heads"], p["kv_heads"], p["ffn"]
    hd = D // H
    out = [("token_embd.weight", (p["vocab"], D), "w")]
    for L in range(p["layers"]):
        b = "blk.%d." % L
        out += [(b + "attn_norm.weight", (D,), "n"),
                (b + "attn_q.weight", (H * hd, D), "w"), (b + "attn_q.bias", (H * hd,), "b"),
                (b + "attn_k.weight", (Hk * hd, D), "w"), (b + "attn_k.bias", (Hk * hd,), "b"),
                (b + "attn_v.weight", (Hk * hd, D), "w"), (b + "attn_v.bias", (Hk * hd,), "b"),
                (b + "attn_output.weight", (D, H * hd), "w"),
                (b + "ffn_norm.weight", (D,), "n"),
                (b + "ffn_gate.weight", (F, D), "w"), (b + "ffn_up.weight", (F, D), "w"),
                (b + "ffn_down.weight", (D, F), "w")]
    out += [("output_norm.weight", (D,), "n"), ("output.weight", (p["vocab"], D), "w")]
    return out


def q8_0_blocks(rng, shape):
    """Random Q8_0 bytes for a [rows, cols] matrix: per 32 values an f16
    scale ~ 0.9/sqrt(cols)/64 and 32 int8 quants."""
    rows, cols = shape
    nb = rows * (cols // 32)
    d = (rng.uniform(0.5, 1.5, nb) * 0.9 / np.sqrt(cols) / 64).astype(np.float16).view(np.uint8).reshape(nb, 2)
    q = rng.integers(-127, 128, size=(nb, 32), dtype=np.int8).view(np.uint8)
    return np.concatenate([d, q], axis=1).reshape(rows, (cols // 32) * 34)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="/tmp/deepc-bench")
    ap.add_argument("--deepc", default="build/deepc")
    a = ap.parse_args()
    import gguf
    os.makedirs(a.dir, exist_ok=True)
    p = QWEN2_1_5B
    path = os.path.join(a.dir, "qwen2-1.5b-q8_0.gguf")
    t0 = time.time()
    w = gguf.GGUFWriter(path, "qwen2")
    w.add_name("qwen2-1.5b-shaped-bench")
    w.add_context_length(p["ctx"])
    w.add_embedding_length(p["hidden"])
    w.add_block_count(p["layers"])
    w.add_feed_forward_length(p["ffn"])
    w.add_head_count(p["heads"])
    w.add_head_count_kv(p["kv_heads"])
    w.add_rope_freq_base(p["theta"])
    w.add_layer_norm_rms_eps(p["eps"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    add_placeholder_vocab(w, p["vocab"])
    rng = np.random.default_rng(7)
    pl = plan(p)
    for name, shape, kind in pl:
        if kind == "w":
            bshape = (shape[0], shape[1] // 32 * 34)
            w.add_tensor_info(name, bshape, np.dtype(np.uint8), int(np.prod(bshape)),
                              raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), 4 * int(np.prod(shape)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, shape, kind in pl:
        if kind == "w":
            w.write_tensor_data(q8_0_blocks(rng, shape))
        elif kind == "n":
            w.write_tensor_data((1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32))
        else:
            w.write_tensor_data((0.02 * rng.standard_normal(shape)).astype(np.float32))
    w.close()
    print("wrote %s in %.0f s" % (path, time.time() - t0))
    for t in ("Q4_0", "Q4_K_M"):
        out = os.path.join(a.dir, "qwen2-1.5b-%s.gguf" % t.lower())
        subprocess.run([a.deepc, "quantize", path, out, "--type", t], check=True)


if __name__ == "__main__":
    main()
