#!/usr/bin/env python3
"""Writes small GGUF and safetensors files with the independent Python writers
(the `gguf` package's GGUFWriter, safetensors.numpy / safetensors.torch) plus
tests/data/formats/expected.json, which records what was written: every
metadata key with its GGUF value type and value, and every tensor with its
ggml type id, ggml-order shape (ne[0] = last numpy dim) and raw bytes in hex.
tests/test_gguf.c and tests/test_safetensors.c read both and compare.

Run from the repo root with the tools venv:
    /opt/deepc-tools/bin/python tools/gen_format_fixtures.py
The output is deterministic (fixed seed) and stays well under 50 KB.  It also
writes the libFuzzer seed inputs under fuzz/seeds/.
"""
import json
import os
import shutil
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT
import safetensors.numpy
import safetensors.torch
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "formats")
# deepc's id for F8_E4M3 (src/base/dtype.h: ids >= 1000 are safetensors-only);
# every other id is ggml's, taken from gguf.GGMLQuantizationType.
DT_F8_E4M3 = 1000
ST_DTYPE_IDS = {
    "F64": int(QT.F64), "F32": int(QT.F32), "F16": int(QT.F16), "BF16": int(QT.BF16),
    "I64": int(QT.I64), "I32": int(QT.I32), "I16": int(QT.I16), "I8": int(QT.I8),
    "F8_E4M3": DT_F8_E4M3,
}
NP_TO_ST = {np.dtype(np.float64): "F64", np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
            np.dtype(np.int64): "I64", np.dtype(np.int32): "I32", np.dtype(np.int16): "I16",
            np.dtype(np.int8): "I8"}
TORCH_TO_ST = {torch.bfloat16: "BF16", torch.float8_e4m3fn: "F8_E4M3", torch.float32: "F32"}


def ne_of(shape):
    """ggml order: the last (contiguous) numpy dim first."""
    return [int(d) for d in reversed(shape)]


def gen_gguf(rng):
    path = os.path.join(OUT, "all_types.gguf")
    w = gguf.GGUFWriter(path, "deepseek2")  # adds general.architecture
    w.add_custom_alignment(64)              # adds general.alignment (u32)
    kv = {
        "general.architecture": {"type": int(VT.STRING), "value": "deepseek2"},
        "general.alignment": {"type": int(VT.UINT32), "value": 64},
    }

    def scalar(key, val, vt):
        w.add_key_value(key, val, vt)
        kv[key] = {"type": int(vt), "value": val}

    def array(key, vals, et):
        w.add_key_value(key, vals, VT.ARRAY, sub_type=et)
        kv[key] = {"type": int(VT.ARRAY), "etype": int(et), "value": vals}

    scalar("fx.u8", 250, VT.UINT8)
    scalar("fx.i8", -128, VT.INT8)
    scalar("fx.u16", 65535, VT.UINT16)
    scalar("fx.i16", -32768, VT.INT16)
    scalar("fx.u32", 4294967295, VT.UINT32)
    scalar("fx.i32", -2147483648, VT.INT32)
    scalar("fx.f32", float(np.float32(0.1)), VT.FLOAT32)
    scalar("fx.bool_true", True, VT.BOOL)
    scalar("fx.bool_false", False, VT.BOOL)
    scalar("fx.u64_small", 7, VT.UINT64)
    scalar("fx.u64_big", 2**64 - 1, VT.UINT64)
    scalar("fx.i64", -(2**62) - 3, VT.INT64)
    scalar("fx.f64", 2.718281828459045, VT.FLOAT64)
    scalar("fx.str", "h\u00e9llo \u2713 \u6f22\u5b57", VT.STRING)
    scalar("fx.str_nul", "a\x00b", VT.STRING)
    array("fx.arr_u8", [0, 1, 255], VT.UINT8)
    array("fx.arr_i8", [-128, 0, 127], VT.INT8)
    array("fx.arr_u16", [0, 65535], VT.UINT16)
    array("fx.arr_i16", [-32768, 32767], VT.INT16)
    array("fx.arr_u32", [1, 4294967295], VT.UINT32)
    array("fx.arr_i32", [-2147483648, 5], VT.INT32)
    array("fx.arr_f32", [float(np.float32(x)) for x in (0.5, -1.25, 1e-3)], VT.FLOAT32)
    array("fx.arr_bool", [True, False, True], VT.BOOL)
    array("fx.arr_str", ["<s>", "", "\u2581the", "a\x00b"], VT.STRING)
    array("fx.arr_u64", [0, 2**64 - 1], VT.UINT64)
    array("fx.arr_i64", [-(2**63), 2**63 - 1], VT.INT64)
    array("fx.arr_f64", [1.0 / 3.0, -1e300], VT.FLOAT64)

    tensors = []

    def add(name, arr, raw_dtype=None, ggml_type=None, shape=None):
        if raw_dtype is None:
            w.add_tensor(name, arr)
        else:
            w.add_tensor(name, arr, raw_dtype=raw_dtype)
        tensors.append({"name": name, "type": int(ggml_type), "ne": ne_of(shape), "hex": arr.tobytes().hex()})

    x = rng.standard_normal((3, 8)).astype(np.float32)
    add("token_embd.weight", x, ggml_type=QT.F32, shape=x.shape)
    x = rng.standard_normal((2, 4, 4)).astype(np.float16)
    add("blk.0.attn_q.weight", x, ggml_type=QT.F16, shape=x.shape)
    x = rng.standard_normal((2, 64)).astype(np.float32)
    q = gguf.quants.quantize(x, QT.Q8_0)  # uint8 bytes, shape (2, 68)
    add("blk.0.ffn_down.weight", q, raw_dtype=QT.Q8_0, ggml_type=QT.Q8_0, shape=x.shape)
    x = rng.standard_normal((5,)).astype(np.float32)
    b = gguf.quants.quantize(x, QT.BF16)
    add("output_norm.weight", b, raw_dtype=QT.BF16, ggml_type=QT.BF16, shape=x.shape)
    x = np.arange(-2, 3, dtype=np.int32)
    add("fx.i32", x, ggml_type=QT.I32, shape=x.shape)
    x = rng.standard_normal((1, 2, 1, 3)).astype(np.float32)
    add("fx.4d", x, ggml_type=QT.F32, shape=x.shape)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return {"file": "all_types.gguf", "version": 3, "alignment": 64, "kv": kv, "tensors": tensors}


def st_entry(name, dtype, shape, raw, shard=None):
    e = {"name": name, "type": ST_DTYPE_IDS[dtype], "n_dims": len(shape), "ne": ne_of(shape), "hex": raw.hex()}
    if shard is not None:
        e["shard"] = shard
    return e


def gen_single(rng):
    arrs = {
        "model.embed_tokens.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "model.norm.weight": rng.standard_normal((3,)).astype(np.float16),
        "f64.t": rng.standard_normal((2, 1, 2)).astype(np.float64),
        "i8.t": np.array([[-128, 127], [0, 1]], dtype=np.int8),
        "i16.t": np.array([-2, 3], dtype=np.int16),
        "i32.t": np.array([[[[7]]]], dtype=np.int32),
        "i64.t": np.array([-(2**40)], dtype=np.int64),
        "scalar.t": np.array(1.5, dtype=np.float32),
        "empty.t": np.zeros((0, 4), dtype=np.float32),
    }
    safetensors.numpy.save_file(arrs, os.path.join(OUT, "single.safetensors"), metadata={"format": "np"})
    tensors = [st_entry(k, NP_TO_ST[v.dtype], v.shape, v.tobytes()) for k, v in arrs.items()]
    # A dtype deepc has no id for, written by the reference writer.
    safetensors.numpy.save_file({"mask": np.array([1, 0, 2], dtype=np.uint8)}, os.path.join(OUT, "u8.safetensors"))
    return {"file": "single.safetensors", "tensors": tensors}, {"file": "u8.safetensors", "dtype": "U8"}


def gen_sharded(rng):
    d = os.path.join(OUT, "sharded")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(0)
    # DeepSeek-style FP8 weight with its F32 block scale kept in another shard.
    w = (torch.randn(4, 6) * 2).to(torch.float8_e4m3fn)
    shards = {
        "model-00001-of-00002.safetensors": {
            "model.layers.0.mlp.down_proj.weight": w,
            "model.embed_tokens.weight": torch.randn(5, 4).to(torch.bfloat16),
        },
        "model-00002-of-00002.safetensors": {
            "model.layers.0.mlp.down_proj.weight_scale_inv": torch.tensor([[0.5]], dtype=torch.float32),
            "model.norm.weight": torch.randn(4).to(torch.bfloat16),
            "model.layers.0.mlp.gate.e_score_correction_bias": torch.randn(3, dtype=torch.float32),
        },
    }
    weight_map, tensors, total = {}, [], 0
    for fname, ts in shards.items():
        safetensors.torch.save_file(ts, os.path.join(d, fname), metadata={"format": "pt"})
        for name, t in ts.items():
            weight_map[name] = fname
            raw = t.contiguous().view(torch.uint8).numpy().tobytes()
            total += len(raw)
            tensors.append(st_entry(name, TORCH_TO_ST[t.dtype], tuple(t.shape), raw, shard=fname))
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    config = json.dumps({"architectures": ["DeepseekV3ForCausalLM"], "hidden_size": 4,
                         "quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
                                                 "weight_block_size": [128, 128]}}, indent=2) + "\n"
    tok = json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}) + "\n"
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(config)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        f.write(tok)
    return {"dir": "sharded", "config": config, "tokenizer": tok, "tensors": tensors}


def gen_seeds(rng):
    """A few tiny valid inputs for the libFuzzer targets (fuzz/seeds/<target>/)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "seeds")
    dg, ds = os.path.join(root, "fuzz_gguf"), os.path.join(root, "fuzz_safetensors")
    os.makedirs(dg, exist_ok=True)
    os.makedirs(ds, exist_ok=True)
    w = gguf.GGUFWriter(os.path.join(dg, "header_only.gguf"), "deepseek2")
    w.add_uint32("deepseek2.block_count", 1)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    w = gguf.GGUFWriter(os.path.join(dg, "vocab_q8.gguf"), "deepseek2")
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "<s>"])
    w.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.0])
    w.add_float32("deepseek2.rope.freq_base", 10000.0)
    w.add_tensor("blk.0.ffn_down.weight", gguf.quants.quantize(rng.standard_normal((1, 32)).astype(np.float32), QT.Q8_0),
                 raw_dtype=QT.Q8_0)
    w.add_tensor("output_norm.weight", rng.standard_normal((4,)).astype(np.float16))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    shutil.copy(os.path.join(OUT, "all_types.gguf"), os.path.join(dg, "all_types.gguf"))
    safetensors.numpy.save_file({"w": np.ones((2, 2), dtype=np.float32)}, os.path.join(ds, "one.safetensors"))
    safetensors.numpy.save_file({"s": np.array(2.0, dtype=np.float16), "e": np.zeros((0,), dtype=np.int8)},
                                os.path.join(ds, "scalar_empty.safetensors"), metadata={"format": "np"})
    shutil.copy(os.path.join(OUT, "sharded", "model-00001-of-00002.safetensors"), os.path.join(ds, "fp8_bf16.safetensors"))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1234)
    single, unsupported = gen_single(rng)
    expected = {"gguf": gen_gguf(rng), "safetensors": single, "unsupported": unsupported,
                "sharded": gen_sharded(rng)}
    gen_seeds(rng)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
