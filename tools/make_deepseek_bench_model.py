#!/usr/bin/env python3
"""Writes DeepSeek-V2-Lite shaped deepseek2 GGUF files with random weights
for speed measurements (not for correctness: the weights are noise).

Shapes are V2-Lite's (hidden 2048, 16 heads, no q-LoRA, kv_lora_rank 512,
qk_nope 128, qk_rope 64, v_head 128, 64 routed experts of 1408 with 6 active,
2 shared experts, first layer dense with intermediate 10944, vocab 102400,
YaRN factor 40 / original 4096 / mscale_all_dim 0.707), but only --layers
layers (default 6: one dense, five MoE). The GGUF uses the MLA layout
(attn_k_b / attn_v_b) with the metadata keys of tools/make_deepseek_fixtures.py.
Every 2-D/3-D weight is Q8_0 or Q4_0 (all row lengths here are multiples of
32); norms and the router (ffn_gate_inp) are F32. A placeholder vocab is
included so llama.cpp can load the file, and attention.q_lora_rank = 0 is
written because llama.cpp only accepts a missing q_lora_rank when the layer
count is V2-Lite's 27 (or 26); a reader must treat 0 like "absent".

Only numpy and the gguf package are used (no torch). Files go to DIR
(default /tmp/deepc-bench/): dsv2lite-<layers>l-q8_0.gguf, ...-q4_0.gguf.
With --llama-python (default /opt/deepc-llama/bin/python, skipped if
missing) each file is loaded by llama.cpp and prompt/decode speed measured
(2 threads, 128-token prompt); results go to bench-llamacpp.json there.

Usage: /opt/deepc-tools/bin/python tools/make_deepseek_bench_model.py [DIR]
           [--layers N] [--types q8_0,q4_0] [--no-llama | --bench-only]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_deepseek_fixtures import gguf_kv  # noqa: E402  (no torch needed)
from placeholder_vocab import add_placeholder_vocab  # noqa: E402

V2_LITE = dict(name="dsv2lite-bench", family="v2", vocab=102400, hidden=2048,
               heads=16, q_lora_rank=None, kv_lora_rank=512,
               qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
               intermediate=10944, moe_intermediate=1408, first_k_dense=1,
               n_routed=64, n_shared=2, top_k=6, topk_method="greedy",
               n_group=1, topk_group=1, scoring="softmax", norm_topk=False,
               scale=1.0, max_pos=163840, eps=1e-6, theta=10000.0,
               factor=40.0, orig_ctx=4096, beta_fast=32, beta_slow=1,
               mscale=0.707, mscale_all_dim=0.707)

DEFAULT_LLAMA_PY = "/opt/deepc-llama/bin/python"


def tensor_plan(p):
    """[(gguf_name, numpy shape, kind)] in the MLA layout; kind is "norm"
    (F32, ones-ish), "router" (F32) or "w" (quantized)."""
    D, H = p["hidden"], p["heads"]
    dn, dr, dv = p["qk_nope_head_dim"], p["qk_rope_head_dim"], p["v_head_dim"]
    rkv, E, Fe = p["kv_lora_rank"], p["n_routed"], p["moe_intermediate"]
    out = [("token_embd.weight", (p["vocab"], D), "w")]
    for L in range(p["layers"]):
        b = "blk.%d." % L
        out += [(b + "attn_norm.weight", (D,), "norm"),
                (b + "attn_q.weight", (H * (dn + dr), D), "w"),
                (b + "attn_kv_a_mqa.weight", (rkv + dr, D), "w"),
                (b + "attn_kv_a_norm.weight", (rkv,), "norm"),
                (b + "attn_k_b.weight", (H, rkv, dn), "w"),
                (b + "attn_v_b.weight", (H, dv, rkv), "w"),
                (b + "attn_output.weight", (D, H * dv), "w"),
                (b + "ffn_norm.weight", (D,), "norm")]
        if L < p["first_k_dense"]:
            F = p["intermediate"]
            out += [(b + "ffn_gate.weight", (F, D), "w"),
                    (b + "ffn_up.weight", (F, D), "w"),
                    (b + "ffn_down.weight", (D, F), "w")]
        else:
            Fs = Fe * p["n_shared"]
            out += [(b + "ffn_gate_inp.weight", (E, D), "router"),
                    (b + "ffn_gate_exps.weight", (E, Fe, D), "w"),
                    (b + "ffn_up_exps.weight", (E, Fe, D), "w"),
                    (b + "ffn_down_exps.weight", (E, D, Fe), "w"),
                    (b + "ffn_gate_shexp.weight", (Fs, D), "w"),
                    (b + "ffn_up_shexp.weight", (Fs, D), "w"),
                    (b + "ffn_down_shexp.weight", (D, Fs), "w")]
    out += [("output_norm.weight", (D,), "norm"),
            ("output.weight", (p["vocab"], D), "w")]
    return out


def make_values(rng, name, shape, kind):
    """float32 values for one tensor (or one slab of a 3-D tensor)."""
    if kind == "norm":
        return (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    if name == "token_embd.weight":
        std = 0.5
    elif kind == "router":
        std = 1.5 / math.sqrt(shape[-1])
    else:
        std = 0.9 / math.sqrt(shape[-1])
    a = rng.standard_normal(shape, dtype=np.float32)
    a *= np.float32(std)
    return a


def write_files(p, out_dir, types, seed):
    """Writes one GGUF per quant type in a single pass over the tensors (the
    random values are drawn once and quantized for every type)."""
    import gguf

    Q = {"q8_0": gguf.GGMLQuantizationType.Q8_0,
         "q4_0": gguf.GGMLQuantizationType.Q4_0}
    FT = {"q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
          "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0}
    plan = tensor_plan(p)
    vt = {"u32": gguf.GGUFValueType.UINT32, "f32": gguf.GGUFValueType.FLOAT32,
          "str": gguf.GGUFValueType.STRING, "bool": gguf.GGUFValueType.BOOL}
    writers, paths = {}, {}
    for t in types:
        path = os.path.join(out_dir, "dsv2lite-%dl-%s.gguf" % (p["layers"], t))
        w = gguf.GGUFWriter(path, "deepseek2")
        w.add_type(gguf.GGUFType.MODEL)
        w.add_name("%s-%dl-%s" % (p["name"], p["layers"], t))
        for k, v, kind in gguf_kv(p, "mla", t):
            w.add_key_value("deepseek2." + k, v, vt[kind])
        w.add_uint32("deepseek2.attention.q_lora_rank", 0)
        w.add_file_type(FT[t])
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
        add_placeholder_vocab(w, p["vocab"])
        for name, shape, kind in plan:
            if kind == "w":
                bshape = gguf.quants.quant_shape_to_byte_shape(shape, Q[t])
                w.add_tensor_info(name, bshape, np.dtype(np.uint8),
                                  int(np.prod(bshape)), raw_dtype=Q[t])
            else:
                w.add_tensor_info(name, shape, np.dtype(np.float32),
                                  4 * int(np.prod(shape)))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        writers[t], paths[t] = w, path

    rng = np.random.default_rng(seed)
    n_params = 0
    t0 = time.time()
    for name, shape, kind in plan:
        n_params += int(np.prod(shape))
        if kind != "w":
            a = make_values(rng, name, shape, kind)
            for w in writers.values():
                w.write_tensor_data(a)
            continue
        # 3-D expert tensors are made and quantized one expert at a time
        slabs = shape[0] if len(shape) == 3 else 1
        sub = shape[1:] if len(shape) == 3 else shape
        bufs = {t: np.empty(gguf.quants.quant_shape_to_byte_shape(shape, Q[t]),
                            dtype=np.uint8) for t in types}
        for j in range(slabs):
            a = make_values(rng, name, sub, kind)
            for t in types:
                q = gguf.quants.quantize(a, Q[t])
                if len(shape) == 3:
                    bufs[t][j] = q
                else:
                    bufs[t][...] = q
        for t in types:
            writers[t].write_tensor_data(bufs[t])
        del bufs
    for w in writers.values():
        w.close()
    print("wrote %s (%.2fB parameters) in %.0f s" % (
        ", ".join(paths.values()), n_params / 1e9, time.time() - t0))
    return paths, n_params


LLAMA_BENCH = r'''
import json, sys, time
import numpy as np
import llama_cpp
job = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
llm = llama_cpp.Llama(model_path=job["gguf"], n_ctx=job["n_ctx"],
                      n_batch=512, n_threads=job["threads"],
                      n_threads_batch=job["threads"], verbose=False)
t_load = time.perf_counter() - t0
rng = np.random.default_rng(job["seed"])
prompt = [int(x) for x in rng.integers(259, job["n_vocab"], size=job["prompt"])]
res = {"load_s": t_load, "threads": job["threads"], "prompt_tokens": job["prompt"]}
t0 = time.perf_counter()
llm.eval(prompt)
res["prompt_s"] = time.perf_counter() - t0
tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
# decode in chunks of 16 tokens: the machine may be shared, so the best
# chunk is reported next to the overall rate
chunks = []
t_all = time.perf_counter()
for c in range(job["gen"] // 16):
    t0 = time.perf_counter()
    for i in range(16):
        llm.eval([tok])
        tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
    chunks.append(16 / (time.perf_counter() - t0))
res["decode_s"] = time.perf_counter() - t_all
res["decode_tokens"] = 16 * len(chunks)
res["prompt_tok_per_s"] = job["prompt"] / res["prompt_s"]
res["decode_tok_per_s"] = res["decode_tokens"] / res["decode_s"]
res["decode_tok_per_s_best_chunk"] = max(chunks)
res["decode_tok_per_s_chunks"] = chunks
res["last_logits_finite"] = bool(np.isfinite(llm.scores[llm.n_tokens - 1]).all())
res["llama_cpp_python"] = llama_cpp.__version__
print(json.dumps(res))
'''


def llama_bench(python, path, p, threads=2, prompt=128, gen=64, seed=5):
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        job = os.path.join(td, "job.json")
        with open(job, "w") as f:
            json.dump({"gguf": path, "n_ctx": 512, "threads": threads,
                       "prompt": prompt, "gen": gen, "seed": seed,
                       "n_vocab": p["vocab"]}, f)
        script = os.path.join(td, "bench.py")
        with open(script, "w") as f:
            f.write(LLAMA_BENCH)
        r = subprocess.run([python, script, job], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("llama.cpp bench failed:\n" + r.stderr[-4000:])
        return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="/tmp/deepc-bench/")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--types", default="q8_0,q4_0")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--gen", type=int, default=64,
                    help="decoded tokens timed by the llama.cpp run (x16)")
    ap.add_argument("--llama-python", default=DEFAULT_LLAMA_PY)
    ap.add_argument("--no-llama", action="store_true")
    ap.add_argument("--bench-only", action="store_true",
                    help="measure existing files, do not write them")
    args = ap.parse_args()
    p = dict(V2_LITE)
    p["layers"] = args.layers
    types = [t for t in args.types.split(",") if t]
    os.makedirs(args.out, exist_ok=True)
    if args.bench_only:
        paths = {t: os.path.join(args.out, "dsv2lite-%dl-%s.gguf" % (p["layers"], t))
                 for t in types}
        n_params = sum(int(np.prod(s)) for _, s, _ in tensor_plan(p))
    else:
        paths, n_params = write_files(p, args.out, types, args.seed)
    if args.no_llama or not os.path.exists(args.llama_python):
        return
    # flush the freshly written files first: reading mmapped pages that are
    # still being written back to disk made decode up to 20x slower
    os.sync()
    report = {"layers": p["layers"], "n_params": n_params, "files": {}}
    for t, path in paths.items():
        r = llama_bench(args.llama_python, path, p, gen=args.gen)
        r["file_bytes"] = os.path.getsize(path)
        report["files"][t] = r
        print("%s: %.2f GB, prompt %d tok %.1f tok/s, decode %.2f tok/s "
              "(best 16-token chunk %.2f; 2 threads, %d tokens), logits "
              "finite: %s" % (
                  os.path.basename(path), r["file_bytes"] / 1e9,
                  r["prompt_tokens"], r["prompt_tok_per_s"],
                  r["decode_tok_per_s"], r["decode_tok_per_s_best_chunk"],
                  r["decode_tokens"], r["last_logits_finite"]))
    with open(os.path.join(args.out, "bench-llamacpp.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
